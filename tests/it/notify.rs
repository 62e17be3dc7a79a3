//! Notifications end to end: real HTTP to local receivers (a
//! Discord-compatible one that enforces Discord's documented limits, a
//! generic one), a real Alertmanager when the test script started one.

mod alertmanager;
mod cli;
mod delivery;
mod discord;
pub mod faults;
pub mod receiver;
mod secrets;
mod state_writes;
