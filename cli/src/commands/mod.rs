pub mod detect;
pub mod governance;
pub mod ingest;
pub mod models;
pub mod probe;
pub mod run;
pub mod search;
pub mod serve;
