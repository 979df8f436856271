//! Generation in the browser, one feature: the workspace page ([`workspace`]) with its
//! parameters and live progress ([`form`]) and its canvas ([`canvas`]), the server functions it
//! calls ([`server_fns`], the same core functions as the REST API), and the job's event stream
//! ([`watch`]).

pub mod canvas;
pub mod form;
pub mod server_fns;
pub mod watch;
pub mod workspace;

pub use workspace::GeneratePage;
