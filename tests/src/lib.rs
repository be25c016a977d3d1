//! End-to-end test support for Jisr: servers started in-process on port 0, real HTTP, real
//! Redis, real keys. The tests themselves live in `tests/e2e/` as one test binary.
#![forbid(unsafe_code)]
