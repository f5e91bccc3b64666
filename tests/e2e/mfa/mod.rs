//! Multi-factor authentication end to end, against DynamoDB Local: enrolment, the second login
//! step, single-use codes, the per-account brake, aal/amr through login and refresh, step-up,
//! recovery codes, removal, and what the table keeps.

mod audit;
mod brake;
mod enrol;
mod login;
mod manage;
mod round_trips;
mod step_up;
