//! Where and with what a piece of work ran: the software (cxr's version and commit), the
//! machine (CPU model and the instruction sets kernels choose by, logical CPUs, OS) and
//! the environment variables that change numbers or threads (`ONEDNN_MAX_CPU_ISA`,
//! `OMP_NUM_THREADS`, `CXR_DEVICE`, …). The library that ran the networks adds its part
//! ([`Compute`]: libtorch's version, device, threads).
//!
//! Training appends one [`Session`] to its run folder's `environment.jsonl` each time it
//! starts or resumes (`cxr_nn::fit`; read back with `cxr_nn::files::read_sessions`), and
//! the experiment's report says where its models were trained: results that differ
//! between two runs can then be traced to a commit, a CPU or an instruction-set cap, and
//! a run resumed on another machine shows it.
//!
//! ```
//! let env = cxr_core::Environment::current();
//! assert_eq!(env.cxr, env!("CARGO_PKG_VERSION"));
//! assert!(env.cpus >= 1);
//! println!("{}", env.summary());
//! ```

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Environment variables recorded when set: they change which kernels run (and so the
/// last bits of results), how many threads, or which device.
pub const RECORDED_VARIABLES: [&str; 8] = [
    "CXR_DEVICE",
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
];

/// The software and machine a piece of work ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// cxr's version.
    pub cxr: String,
    /// The git commit cxr was built from (uncommitted changes are not recorded), when the
    /// build knew it.
    #[serde(default)]
    pub commit: Option<String>,
    /// `linux`, `macos`, …
    pub os: String,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// The CPU's model name, where the OS says it.
    #[serde(default)]
    pub cpu: Option<String>,
    /// The instruction sets that decide which kernels libraries pick (of `avx2`, `fma`,
    /// `avx512f`, `avx512bw`, `avx512vl`, `avx512vnni`; `neon`, `sve` on Arm).
    #[serde(default)]
    pub cpu_features: Vec<String>,
    /// Logical CPUs this process may use.
    pub cpus: usize,
    /// The [`RECORDED_VARIABLES`] that were set.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// What ran the networks, when they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
}

/// The library that ran the networks, its device and threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compute {
    /// `libtorch 2.11.0+cu128`, `candle`.
    pub library: String,
    /// `cpu`, `cuda:0`.
    pub device: String,
    /// Intra-op threads.
    pub threads: usize,
    /// GPUs seen and the CUDA/cuDNN versions, when CUDA is there.
    #[serde(default)]
    pub accelerator: Option<String>,
}

/// One start (or resume) of a piece of work: when, from which epoch, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// When it started, RFC 3339 UTC (seconds).
    pub started: String,
    /// Epochs already done when it started (0 for a fresh run).
    pub from_epoch: usize,
    /// Where.
    #[serde(flatten)]
    pub environment: Environment,
}

impl Environment {
    /// This process's environment, without [`Compute`].
    pub fn current() -> Environment {
        let variables = RECORDED_VARIABLES
            .iter()
            .filter_map(|&k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        Environment {
            cxr: env!("CARGO_PKG_VERSION").to_string(),
            commit: option_env!("CXR_GIT_COMMIT").map(str::to_string),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cpu: cpu_model(),
            cpu_features: cpu_features(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            variables,
            compute: None,
        }
    }

    /// With what ran the networks.
    #[must_use]
    pub fn with_compute(mut self, compute: Compute) -> Environment {
        self.compute = Some(compute);
        self
    }

    /// One line: `cxr 0.1.0 (1a2b3c4d5e6f), libtorch 2.11.0 on cpu, 2 threads; AMD EPYC
    /// 9B14 (avx2, fma, avx512f), 2 logical CPUs, linux x86_64; ONEDNN_MAX_CPU_ISA=AVX2`.
    pub fn summary(&self) -> String {
        let mut s = format!("cxr {}", self.cxr);
        if let Some(c) = &self.commit {
            s.push_str(&format!(" ({})", &c[..c.len().min(12)]));
        }
        if let Some(c) = &self.compute {
            s.push_str(&format!(
                ", {} on {}, {} thread{}",
                c.library,
                c.device,
                c.threads,
                if c.threads == 1 { "" } else { "s" }
            ));
            if let Some(a) = &c.accelerator {
                s.push_str(&format!(" ({a})"));
            }
        }
        s.push_str("; ");
        s.push_str(self.cpu.as_deref().unwrap_or("unknown CPU"));
        if !self.cpu_features.is_empty() {
            s.push_str(&format!(" ({})", self.cpu_features.join(", ")));
        }
        s.push_str(&format!(
            ", {} logical CPU{}, {} {}",
            self.cpus,
            if self.cpus == 1 { "" } else { "s" },
            self.os,
            self.arch
        ));
        if !self.variables.is_empty() {
            let vars: Vec<String> = self
                .variables
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!("; {}", vars.join(" ")));
        }
        s
    }
}

impl Session {
    /// A session starting now at `from_epoch`.
    pub fn now(from_epoch: usize, environment: Environment) -> Session {
        Session {
            started: crate::date::rfc3339_utc(SystemTime::now()).unwrap_or_default(),
            from_epoch,
            environment,
        }
    }
}

/// What several sessions ran on, in words: one line when they all ran alike (`cxr …;
/// …`), else one per session with its first epoch.
pub fn sessions_summary(sessions: &[Session]) -> Option<String> {
    let first = sessions.first()?;
    let alike = sessions.iter().all(|s| s.environment == first.environment);
    if alike {
        let resumed = match sessions.len() {
            1 => String::new(),
            n => format!(" (started {n} times: resumed after a stop)"),
        };
        return Some(format!("{}{resumed}", first.environment.summary()));
    }
    Some(
        sessions
            .iter()
            .map(|s| {
                format!(
                    "from epoch {} ({}): {}",
                    s.from_epoch,
                    s.started,
                    s.environment.summary()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(target_os = "linux")]
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            matches!(k.trim(), "model name" | "Model" | "Hardware").then(|| v.trim().to_string())
        })
        .filter(|s| !s.is_empty())
}

#[cfg(not(target_os = "linux"))]
fn cpu_model() -> Option<String> {
    None
}

fn cpu_features() -> Vec<String> {
    #[allow(unused_mut)] // on CPUs other than x86-64 and Arm
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! check {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    found.push($f.to_string());
                }
            )*};
        }
        check!(
            "avx2",
            "fma",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! check {
            ($($f:tt),*) => {$(
                if std::arch::is_aarch64_feature_detected!($f) {
                    found.push($f.to_string());
                }
            )*};
        }
        check!("neon", "sve");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_environment_names_this_build_and_machine() {
        let env = Environment::current();
        assert_eq!(env.cxr, env!("CARGO_PKG_VERSION"));
        assert_eq!(env.os, std::env::consts::OS);
        assert_eq!(
            env.cpus,
            std::thread::available_parallelism().unwrap().get()
        );
        // Built from this checkout: the commit git names now (the build script runs
        // again when HEAD moves).
        let head = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if std::env::var_os("CXR_GIT_COMMIT").is_none() {
            assert_eq!(env.commit, head);
        }
        #[cfg(target_os = "linux")]
        {
            let info = std::fs::read_to_string("/proc/cpuinfo").unwrap();
            if info.contains("model name") {
                let model = env.cpu.as_deref().unwrap();
                assert!(info.contains(model), "{model}");
            }
            #[cfg(target_arch = "x86_64")]
            {
                let flags = info.lines().find(|l| l.starts_with("flags")).unwrap();
                let has = |f: &str| flags.split_whitespace().any(|x| x == f);
                assert_eq!(env.cpu_features.contains(&"avx2".into()), has("avx2"));
                assert_eq!(env.cpu_features.contains(&"avx512f".into()), has("avx512f"));
            }
        }
    }

    fn env(cpu: &str) -> Environment {
        Environment {
            cxr: "0.1.0".into(),
            commit: Some("0123456789abcdef0123".into()),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu: Some(cpu.into()),
            cpu_features: vec!["avx2".into(), "fma".into()],
            cpus: 2,
            variables: [("ONEDNN_MAX_CPU_ISA".to_string(), "AVX2".to_string())].into(),
            compute: Some(Compute {
                library: "libtorch 2.11.0".into(),
                device: "cpu".into(),
                threads: 2,
                accelerator: None,
            }),
        }
    }

    #[test]
    fn a_summary_says_software_device_machine_and_settings() {
        assert_eq!(
            env("AMD EPYC 9B14").summary(),
            "cxr 0.1.0 (0123456789ab), libtorch 2.11.0 on cpu, 2 threads; AMD EPYC 9B14 \
             (avx2, fma), 2 logical CPUs, linux x86_64; ONEDNN_MAX_CPU_ISA=AVX2"
        );
    }

    #[test]
    fn sessions_alike_make_one_line_and_others_one_line_each() {
        assert_eq!(sessions_summary(&[]), None);
        let a = Session {
            started: "2026-12-07T10:00:00Z".into(),
            from_epoch: 0,
            environment: env("AMD EPYC 9B14"),
        };
        let b = Session {
            started: "2026-12-07T11:00:00Z".into(),
            from_epoch: 12,
            environment: env("Intel Xeon"),
        };
        assert_eq!(
            sessions_summary(std::slice::from_ref(&a)).unwrap(),
            a.environment.summary()
        );
        let one = sessions_summary(&[a.clone(), a.clone()]).unwrap();
        assert_eq!(
            one,
            format!(
                "{} (started 2 times: resumed after a stop)",
                a.environment.summary()
            )
        );
        let two = sessions_summary(&[a, b]).unwrap();
        assert_eq!(two.lines().count(), 2);
        assert!(
            two.starts_with("from epoch 0 (2026-12-07T10:00:00Z): cxr 0.1.0"),
            "{two}"
        );
        let second = two.lines().nth(1).unwrap();
        assert!(
            second.starts_with("from epoch 12 (2026-12-07T11:00:00Z)")
                && second.contains("Intel Xeon")
        );
    }
}
