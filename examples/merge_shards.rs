//! Joins the parts that the shards of a batch tool wrote into one shared output folder
//! into the tables one whole run writes (docs/scale.md).
//!
//! `cargo run --release --example merge_shards -- DIR`
//!
//! Finds the sharded runs by their journals (`DIR/.journal`): `qc.csv` of
//! `segment --shard I/N`, `conversion.csv` of `dicom_to_png --shard I/N`, the predictions
//! and rejections of `predict --shard I/N`. Refuses parts from runs of different shard
//! counts or settings, and names the shards whose part is missing.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::core::shard::merge_all;

#[derive(Parser)]
#[command(about = "Merge the shards' parts of a shared output folder")]
struct Args {
    /// The shared output folder.
    dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    for m in merge_all(&a.dir)? {
        println!(
            "{}: {} rows from {} shards",
            m.table.display(),
            m.rows,
            m.shards
        );
    }
    Ok(())
}
