//! The backtest: replay recorded series through the detector, beside the
//! published rules, and report lead times before the data gap.

pub mod cli;
