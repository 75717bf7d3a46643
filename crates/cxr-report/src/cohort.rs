//! The paper's Table 1 (cohort by source) and Table 2 (demographics against covid-19) as
//! markdown and CSV, from the values `cxr-cohort` computes.

use std::fmt::Write as _;
use std::path::Path;

use cxr_cohort::tables::Group;
use cxr_cohort::{Table1Row, Table2, table1, table2};
use cxr_core::ImageRecord;

fn pct(n: usize, d: usize) -> String {
    format!("{n} ({:.1}%)", 100.0 * n as f64 / d.max(1) as f64)
}

/// Table 1 as markdown, laid out like the paper's.
pub fn table1_markdown(rows: &[Table1Row]) -> String {
    let total_images = rows.last().map_or(0, |r| r.images);
    let mut s = String::from(
        "| Source | Patients | Covid-19 patients | Bacterial pneumonia patients | Age | Male | Images | Images/patient |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let age = match (r.age_mean, r.age_sd) {
            (Some(m), Some(sd)) => format!("{m:.1} (±{sd:.1})"),
            _ => "-".into(),
        };
        let male = if r.sex_known == 0 {
            "-".into()
        } else {
            pct(r.male, r.sex_known)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            r.source,
            r.patients,
            pct(r.covid, r.patients),
            pct(r.bacterial, r.patients),
            age,
            male,
            pct(r.images, total_images),
            r.images_per_patient()
        );
    }
    s
}

fn p(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| {
        if v < 0.005 {
            "<0.01".into()
        } else {
            format!("{v:.2}")
        }
    })
}

/// Table 2 as markdown, laid out like the paper's, with the missing-data lines.
pub fn table2_markdown(t: &Table2) -> String {
    let age = |g: &Group| match (g.age_mean, g.age_sd) {
        (Some(m), Some(sd)) => format!("{m:.1} (±{sd:.1})"),
        _ => "-".into(),
    };
    let male = |g: &Group| {
        format!(
            "{}/{} ({:.1}%)",
            g.male,
            g.sex_known,
            100.0 * g.male as f64 / g.sex_known.max(1) as f64
        )
    };
    let mut s = String::from(
        "| Variable | Covid-19 patients | Other (healthy or bacterial) | p-value |\n|---|---|---|---|\n",
    );
    let _ = writeln!(
        s,
        "| Male (%) | {} | {} | {} (t-test), {} (chi-square) |",
        male(&t.covid),
        male(&t.other),
        p(t.male_t_p),
        p(t.male_chi2_p)
    );
    let _ = writeln!(
        s,
        "| Age (years) | {} | {} | {} |",
        age(&t.covid),
        age(&t.other),
        p(t.age_p)
    );
    let miss = |g: &Group| {
        format!(
            "age {}, sex {}",
            g.patients - g.age_known,
            g.patients - g.sex_known
        )
    };
    let _ = writeln!(
        s,
        "| Missing | {} | {} | Little's MCAR p = {} |",
        miss(&t.covid),
        miss(&t.other),
        p(t.little_mcar_p)
    );
    if t.age_p_imputed.is_some() {
        let _ = writeln!(
            s,
            "| Age after multiple imputation (m = 5) | | | {} |",
            p(t.age_p_imputed)
        );
    }
    s
}

/// Writes `dir/table1.md`, `dir/table1.csv`, `dir/table2.md` (atomically).
pub fn write_tables(
    dir: &Path,
    records: &[ImageRecord],
    seed: u64,
) -> cxr_core::Result<(Vec<Table1Row>, Table2)> {
    let t1 = table1(records);
    let t2 = table2(records, seed);
    cxr_core::write_bytes_atomic(&dir.join("table1.md"), table1_markdown(&t1).as_bytes())?;
    cxr_core::write_bytes_atomic(&dir.join("table2.md"), table2_markdown(&t2).as_bytes())?;
    let path = dir.join("table1.csv");
    cxr_core::write_atomic(&path, |w| {
        let mut out = csv::Writer::from_writer(w);
        for r in &t1 {
            out.serialize(r).map_err(|source| cxr_core::Error::Csv {
                path: path.clone(),
                source,
            })?;
        }
        out.flush().map_err(|source| cxr_core::Error::Io {
            path: path.clone(),
            source,
        })
    })?;
    Ok((t1, t2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cxr_core::{Label, PatientId, Sex, SourceId, View};

    #[test]
    fn table1_is_laid_out_like_the_papers() {
        let row = |source: &str, patients, covid, bacterial, images| Table1Row {
            source: source.into(),
            patients,
            covid,
            bacterial,
            healthy: patients - covid - bacterial,
            age_mean: (covid > 0).then_some(61.25),
            age_sd: (covid > 0).then_some(15.04),
            age_known: covid,
            male: covid / 2,
            sex_known: covid,
            images,
        };
        let md = table1_markdown(&[
            row("COVIDDSL", 172, 172, 0, 516),
            row("QMenta", 255, 0, 143, 255),
            row("TOTAL", 427, 172, 143, 771),
        ]);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            lines[2],
            "| COVIDDSL | 172 | 172 (100.0%) | 0 (0.0%) | 61.2 (±15.0) | 86 (50.0%) | 516 (66.9%) | 3.0 |"
        );
        assert_eq!(
            lines[3],
            "| QMenta | 255 | 0 (0.0%) | 143 (56.1%) | - | - | 255 (33.1%) | 1.0 |"
        );
    }

    #[test]
    fn the_three_table_files_are_written_from_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut records = Vec::new();
        for i in 0..12u32 {
            let (source, label) = if i < 6 {
                (SourceId::Coviddsl, Label::Covid)
            } else {
                (SourceId::Qmenta, Label::Healthy)
            };
            let mut r = ImageRecord::new(
                PatientId::new(source, format!("p{i}")),
                format!("i{i}"),
                format!("i{i}.png"),
                label,
                "test",
                View::Pa,
            );
            r.age = Some(30.0 + (i * 3) as f32);
            r.sex = Some(if i % 2 == 0 { Sex::Male } else { Sex::Female });
            records.push(r);
        }
        let (t1, t2) = write_tables(dir.path(), &records, 7).unwrap();
        assert_eq!(t1.last().unwrap().patients, 12);
        assert_eq!((t2.covid.patients, t2.other.patients), (6, 6));
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(read("table1.md"), table1_markdown(&t1));
        assert_eq!(read("table2.md"), table2_markdown(&t2));
        let csv = read("table1.csv");
        assert!(
            csv.starts_with("source,patients,covid,bacterial,healthy,"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 1 + t1.len());
    }
}
