//! tapwatch-flow
