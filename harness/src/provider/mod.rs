//! The mock providers the RP talks to, all bound to loopback.
