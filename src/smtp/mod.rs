//! SMTP, shared by the `smtp` health check (it reads replies) and the e-mail alerts (a
//! small client of their own).

pub mod client;
pub mod message;
pub mod reply;
