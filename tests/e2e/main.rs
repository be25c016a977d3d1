//! Jisr end-to-end tests: servers in-process on 127.0.0.1:0, real HTTP, real keys.
//!
//! - `upstream`: the gateway's Relying Party against development national IdPs, named after
//!   the OpenID RP certification tests they mirror, plus JWT attacks.

mod support;
mod upstream;
