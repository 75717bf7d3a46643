//! Joins the parts that the shards of a batch tool wrote into one shared output folder
//! into the tables one whole run writes (docs/scale.md).
//!
//! `cargo run --release --example merge_shards -- DIR`
//!
//! Today: `qc.csv` of `segment --shard I/N`. Refuses parts from runs of different shard
//! counts or settings, and names the shards whose part is missing.
#[path = "common/logging.rs"]
mod logging;
use std::path::PathBuf;

use clap::Parser;
use cxr::core::shard::merge_parts;

#[derive(Parser)]
#[command(about = "Merge the shards' parts of a shared output folder")]
struct Args {
    /// The shared output folder.
    dir: PathBuf,
}

/// The tables that have shard parts, with the journal that records their settings.
const TABLES: [(&str, &str); 1] = [("qc.csv", "qc.jsonl")];

fn main() -> anyhow::Result<()> {
    logging::init();
    let a = Args::parse();
    let mut merged = 0;
    for (table, journal) in TABLES {
        match merge_parts(&a.dir, table, journal) {
            Ok(m) => {
                println!(
                    "{}: {} rows from {} shards",
                    m.table.display(),
                    m.rows,
                    m.shards
                );
                merged += 1;
            }
            Err(cxr::core::shard::MergeError::NoParts { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if merged == 0 {
        anyhow::bail!(
            "{}: no shard parts to merge (qc.shard-I-of-N.csv …)",
            a.dir.display()
        );
    }
    Ok(())
}
