//! tapwatch-stream
