//! Fuzz targets (being written).
