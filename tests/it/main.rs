//! psconform's integration tests, in one binary (one link, one process, one thread pool),
//! one module per subject.

mod bench_smoke;
mod browser;
mod ci_examples;
mod cli;
mod conforming;
mod documented;
mod harness;
mod hostile;
mod install;
mod properties;
mod regressions;
mod runner;
mod safety;
mod simulator;
mod suite;
mod transport;
