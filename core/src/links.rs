//! Signed links for what the browser fetches without our bearer token: `<img src>` for image files
//! and thumbnails, and `EventSource` for a job's progress. A link names its owner, the session it
//! was made in and its expiry, and carries an HMAC-SHA256 over (purpose, owner, session, object,
//! expiry) under a key derived from the JWT secret, so it opens exactly one object of one user,
//! for a while, and cannot be edited into another. Whoever opens one also checks that its session
//! is still alive (SECURITY.md 43): signing out, revoking the session, changing the password or
//! being deactivated ends the session's links with it. Handlers still read through the owner's
//! row-level security.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use contract::ids::{SessionId, UserId};

/// How long a link works.
pub const LINK_SECONDS: i64 = 3600;

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// An image's file.
    File,
    /// An image's thumbnail.
    Thumbnail,
    /// A job's event stream.
    Events,
    /// The owner's data export (the object is their user id).
    Export,
}

impl LinkPurpose {
    const fn tag(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Thumbnail => "thumbnail",
            Self::Events => "events",
            Self::Export => "export",
        }
    }
}

/// Whose a link is: the user, and the session it was made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkOwner {
    /// The user.
    pub user: UserId,
    /// Their session; the link works while it does.
    pub session: SessionId,
}

/// The query of a signed link.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// The owner (signed links only).
    pub user: Option<Uuid>,
    /// The owner's session the link was made in.
    pub session: Option<Uuid>,
    /// Unix seconds after which the link stops working.
    pub expires: Option<i64>,
    /// Hex HMAC over the rest.
    pub signature: Option<String>,
}

/// Makes and checks signed links.
#[derive(Clone)]
pub struct LinkSigner {
    /// HMAC already keyed: cloning it skips hashing the key for every link (a page of the
    /// gallery signs forty).
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    /// A signer whose key is derived from `secret` (the JWT secret), so links and tokens never
    /// share a key.
    #[must_use]
    pub fn new(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"pingvas signed links v2\0");
        hasher.update(secret);
        let key: [u8; 32] = hasher.finalize().into();
        // A 32-byte key is always a valid HMAC key.
        Self { keyed: <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap_or_else(|_| unreachable!()) }
    }

    /// The MAC over "purpose\nuser\nsession\nobject\nexpires", fed piece by piece (no string
    /// is built: this runs for every link of every page).
    fn mac(&self, purpose: LinkPurpose, owner: LinkOwner, object: Uuid, expires: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        let mut buffer = Uuid::encode_buffer();
        mac.update(purpose.tag().as_bytes());
        for id in [owner.user.0, owner.session.0, object] {
            mac.update(b"\n");
            mac.update(id.hyphenated().encode_lower(&mut buffer).as_bytes());
        }
        mac.update(b"\n");
        mac.update(itoa::Buffer::new().format(expires).as_bytes());
        mac
    }

    /// The path joined from `path`'s pieces, with the query that opens `object` of `owner` until
    /// `now + LINK_SECONDS` (rounded up to the next ten minutes, so pages re-rendered a moment
    /// apart get the same links and the browser's cache keeps working), while the owner's
    /// session lasts. The path comes in pieces so callers need not build it first.
    #[must_use]
    pub fn link(
        &self,
        path: &[&str],
        purpose: LinkPurpose,
        owner: LinkOwner,
        object: Uuid,
        now: i64,
    ) -> String {
        let expires = (now + LINK_SECONDS).div_euclid(600) * 600 + 600;
        let mut signature = [0u8; 64];
        let digest = self.mac(purpose, owner, object, expires).finalize().into_bytes();
        // 32 bytes always fit 64 hex digits.
        hex::encode_to_slice(digest, &mut signature).unwrap_or_else(|_| unreachable!());
        let mut buffer = Uuid::encode_buffer();
        let mut link = String::with_capacity(path.iter().map(|piece| piece.len()).sum::<usize>() + 192);
        for piece in path {
            link.push_str(piece);
        }
        link.push_str("?user=");
        link.push_str(owner.user.0.hyphenated().encode_lower(&mut buffer));
        link.push_str("&session=");
        link.push_str(owner.session.0.hyphenated().encode_lower(&mut buffer));
        link.push_str("&expires=");
        link.push_str(itoa::Buffer::new().format(expires));
        link.push_str("&signature=");
        link.push_str(std::str::from_utf8(&signature).unwrap_or_else(|_| unreachable!()));
        link
    }

    /// The owner a signed query opens `object` for, if its signature holds and it has not
    /// expired. (Whether the owner's session still lives is the caller's check: it needs the
    /// database.)
    #[must_use]
    pub fn verify(
        &self,
        purpose: LinkPurpose,
        object: Uuid,
        query: &SignedQuery,
        now: i64,
    ) -> Option<LinkOwner> {
        let (user, session) = (query.user?, query.session?);
        let (expires, signature) = (query.expires?, query.signature.as_deref()?);
        if expires < now {
            return None;
        }
        let signature = hex::decode(signature).ok()?;
        let owner = LinkOwner { user: UserId(user), session: SessionId(session) };
        self.mac(purpose, owner, object, expires).verify_slice(&signature).ok().map(|()| owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(link: &str) -> SignedQuery {
        let query = link.split_once('?').unwrap().1;
        let value = |name: &str| {
            query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}="))).map(str::to_owned)
        };
        SignedQuery {
            user: value("user").map(|u| u.parse().unwrap()),
            session: value("session").map(|u| u.parse().unwrap()),
            expires: value("expires").map(|e| e.parse().unwrap()),
            signature: value("signature"),
        }
    }

    /// The signature is the HMAC of the documented message under the derived key: links made
    /// before the signer was sped up keep working, and the format cannot drift unnoticed.
    #[test]
    fn a_links_signature_is_the_hmac_of_purpose_owner_session_object_and_expiry() {
        let secret = b"a secret of enough length for tests";
        let signer = LinkSigner::new(secret);
        let owner = LinkOwner { user: UserId(Uuid::from_u128(1)), session: SessionId(Uuid::from_u128(7)) };
        let image = Uuid::from_u128(0xabcdef);
        let link = signer.link(
            &["/api/v1/images/x", "/thumbnail"],
            LinkPurpose::Thumbnail,
            owner,
            image,
            1_800_000_000,
        );
        let query = query_of(&link);
        let expires = query.expires.unwrap();
        assert_eq!(expires, 1_800_004_200, "an hour on, rounded up to the next ten minutes");

        let key: [u8; 32] =
            Sha256::new().chain_update(b"pingvas signed links v2\0").chain_update(secret).finalize().into();
        let mut expected = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        expected.update(
            format!("thumbnail\n{}\n{}\n{image}\n{expires}", owner.user.0, owner.session.0).as_bytes(),
        );
        assert_eq!(query.signature.unwrap(), hex::encode(expected.finalize().into_bytes()));
        assert_eq!(
            link,
            format!(
                "/api/v1/images/x/thumbnail?user={}&session={}&expires={expires}&signature={}",
                owner.user.0,
                owner.session.0,
                query_of(&link).signature.unwrap()
            )
        );
    }

    #[test]
    fn a_link_opens_its_object_only_for_its_purpose_until_it_expires() {
        let signer = LinkSigner::new(b"a secret of enough length for tests");
        let user = LinkOwner { user: UserId(Uuid::from_u128(1)), session: SessionId(Uuid::from_u128(7)) };
        let (image, other) = (Uuid::from_u128(2), Uuid::from_u128(3));
        let now = 1_800_000_000;
        let link = signer.link(&["/api/v1/images/x/file"], LinkPurpose::File, user, image, now);
        let query = query_of(&link);
        assert_eq!(signer.verify(LinkPurpose::File, image, &query, now), Some(user));
        assert_eq!(signer.verify(LinkPurpose::File, image, &query, now + LINK_SECONDS), Some(user));
        let another_session = SignedQuery { session: Some(Uuid::from_u128(8)), ..query.clone() };
        assert_eq!(signer.verify(LinkPurpose::File, image, &another_session, now), None);
        assert_eq!(signer.verify(LinkPurpose::File, image, &query, now + LINK_SECONDS + 601), None);
        assert_eq!(signer.verify(LinkPurpose::Thumbnail, image, &query, now), None);
        assert_eq!(signer.verify(LinkPurpose::File, other, &query, now), None);
        let someone_else = SignedQuery { user: Some(Uuid::from_u128(9)), ..query.clone() };
        assert_eq!(signer.verify(LinkPurpose::File, image, &someone_else, now), None);
        let later = SignedQuery { expires: query.expires.map(|e| e + 600), ..query.clone() };
        assert_eq!(signer.verify(LinkPurpose::File, image, &later, now), None);
        assert_eq!(LinkSigner::new(b"another secret").verify(LinkPurpose::File, image, &query, now), None);
        assert_eq!(
            signer.verify(LinkPurpose::File, image, &SignedQuery { signature: None, ..query }, now),
            None
        );
    }
}
