//! Jisr development national IdP: a small, real OpenID Provider that plays one GCC
//! country's national identity provider in the demo and the tests, with synthetic citizens
//! and fault switches. It never ships real personal data.
#![forbid(unsafe_code)]
