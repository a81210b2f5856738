//! tapwatch-app
