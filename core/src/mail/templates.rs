//! The messages the product sends, each as plain text and HTML with the same words. Pure: a
//! template takes the address and the link and returns a [`Mail`].

use super::Mail;

/// What a link does, for the words around it.
struct Message<'a> {
    to: &'a str,
    subject: &'a str,
    /// Paragraphs before the button.
    before: &'a [&'a str],
    /// The button's label and where it leads.
    action: Option<(&'a str, &'a str)>,
    /// Paragraphs after it.
    after: &'a [&'a str],
}

fn render(message: &Message<'_>) -> Mail {
    let mut text = String::new();
    let mut html = String::from(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1f2937;max-width:560px\">",
    );
    let paragraph = |words: &str, text: &mut String, html: &mut String| {
        text.push_str(words);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape(words)));
    };
    for words in message.before {
        paragraph(words, &mut text, &mut html);
    }
    if let Some((label, link)) = message.action {
        text.push_str(&format!("{label}: {link}\n\n"));
        html.push_str(&format!(
            "<p><a href=\"{0}\" style=\"display:inline-block;padding:10px 18px;background:#2563eb;color:#fff;\
             border-radius:6px;text-decoration:none\">{1}</a></p><p style=\"font-size:13px;color:#6b7280\">\
             Or open this link: {0}</p>",
            escape(link),
            escape(label)
        ));
    }
    for words in message.after {
        paragraph(words, &mut text, &mut html);
    }
    text.push_str("— PingvasAI\n");
    html.push_str("<p style=\"color:#6b7280\">— PingvasAI</p></body></html>");
    Mail { to: message.to.to_owned(), subject: message.subject.to_owned(), text, html }
}

/// Text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Asks a new account's owner to confirm their address.
#[must_use]
pub fn verify_email(to: &str, link: &str) -> Mail {
    render(&Message {
        to,
        subject: "Confirm your email for PingvasAI",
        before: &["Welcome to PingvasAI! Confirm that this is your address to start generating images."],
        action: Some(("Confirm my email", link)),
        after: &["The link works once, for 24 hours. If you did not sign up, ignore this message."],
    })
}

/// A password-reset link.
#[must_use]
pub fn reset_password(to: &str, link: &str) -> Mail {
    render(&Message {
        to,
        subject: "Reset your PingvasAI password",
        before: &["Someone asked to reset the password of the PingvasAI account with this address."],
        action: Some(("Choose a new password", link)),
        after: &[
            "The link works once, for 60 minutes. Choosing a new password signs every device out.",
            "If it was not you, ignore this message: your password stays as it is.",
        ],
    })
}

/// Asks the owner of a new address to confirm it before the account moves to it.
#[must_use]
pub fn confirm_new_email(to: &str, link: &str) -> Mail {
    render(&Message {
        to,
        subject: "Confirm your new email for PingvasAI",
        before: &["Your PingvasAI account asked to use this address from now on."],
        action: Some(("Confirm this address", link)),
        after: &["The link works once, for 24 hours. Until then the account keeps its old address."],
    })
}

/// Tells the old address that the account asked to move to `new_email`.
#[must_use]
pub fn email_change_requested(to: &str, new_email: &str) -> Mail {
    let moving = format!(
        "Your PingvasAI account asked to change its email from this address to {new_email}. The change happens \
         when the new address is confirmed."
    );
    render(&Message {
        to,
        subject: "Your PingvasAI email is being changed",
        before: &[&moving],
        action: None,
        after: &["If this was not you, sign in and change your password now, then contact support."],
    })
}

/// Tells a subscriber that a renewal failed and until when they keep their plan.
#[must_use]
pub fn payment_failed(to: &str, link: &str, plan: &str, grace_until: &str) -> Mail {
    let keeping = format!(
        "The payment for your PingvasAI {plan} subscription did not go through. You keep {plan} until \
         {grace_until} while the payment is retried; after that your plan becomes Free."
    );
    render(&Message {
        to,
        subject: "Your PingvasAI payment failed",
        before: &[&keeping],
        action: Some(("Update your card", link)),
        after: &["If you meant to stop your subscription, you need not do anything."],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_link_and_html_is_escaped() {
        let mail = verify_email("ada@example.com", "https://pingvas.example/verify-email?token=abc_-1");
        assert_eq!(mail.to, "ada@example.com");
        assert!(mail.text.contains("Confirm my email: https://pingvas.example/verify-email?token=abc_-1"));
        assert!(mail.html.contains("href=\"https://pingvas.example/verify-email?token=abc_-1\""));
        let notice = email_change_requested("old@example.com", "<script>@example.com");
        assert!(notice.text.contains("<script>@example.com"));
        assert!(notice.html.contains("&lt;script&gt;@example.com") && !notice.html.contains("<script>"));
    }
}
