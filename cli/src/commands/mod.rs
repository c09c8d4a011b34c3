pub mod models;
pub mod probe;
pub mod run;
pub mod search;
