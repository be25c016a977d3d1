//! Jisr end-to-end tests: servers in-process on 127.0.0.1:0, real HTTP, real keys.
//!
//! - `downstream`: the cross-border sign-in through the gateway for agencies, and the demo.
//! - `upstream`: the gateway's Relying Party against development national IdPs, named after
//!   the OpenID RP certification tests they mirror, plus JWT attacks.

mod downstream;
mod interop;
mod privacy;
mod replicas;
mod support;
mod tls;
mod upstream;
