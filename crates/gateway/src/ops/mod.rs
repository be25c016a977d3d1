//! Operators' endpoints. [`health`]: liveness and readiness.

pub mod health;
