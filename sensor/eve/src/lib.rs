//! tapwatch-eve
