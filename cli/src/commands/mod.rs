pub mod models;
pub mod probe;
pub mod run;
