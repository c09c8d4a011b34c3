//! `--data`: the data folder every command that touches the store takes.

use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DataArg {
    /// Data folder: the event lake, thumbnails, audit log, registry and holds when the store is
    /// the local folder (the default). [default: data_dir in the config, else ./canvass-data]
    #[arg(long = "data", env = "CANVASS_DATA", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}
