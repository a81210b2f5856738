//! tapwatch-defrag
