//! The built-in Password Safe simulator: the default target of `psconform run`, and
//! `psconform serve`.
