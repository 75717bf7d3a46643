//! Choosing where tensors live.

use tch::{Cuda, Device};

use crate::{Error, Result};

/// Environment variable that overrides the device: `auto`, `cpu`, `cuda` or `cuda:N`.
pub const DEVICE_ENV: &str = "CXR_DEVICE";

/// Which device to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePreference {
    /// The first CUDA device if there is one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// A CUDA device by index (an error if it does not exist).
    Cuda(usize),
}

impl std::str::FromStr for DevicePreference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let unknown = || Error::UnknownDevice {
            value: s.to_owned(),
            origin: None,
        };
        match t.as_str() {
            "" | "auto" => Ok(DevicePreference::Auto),
            "cpu" => Ok(DevicePreference::Cpu),
            "cuda" | "gpu" => Ok(DevicePreference::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DevicePreference::Cuda)
                .ok_or_else(unknown),
        }
    }
}

/// Resolves a preference to a device. `Auto` never fails; an explicit CUDA index that
/// does not exist is an error rather than a silent fall-back to the CPU.
pub fn select_device(pref: DevicePreference) -> Result<Device> {
    match pref {
        DevicePreference::Auto => Ok(Device::cuda_if_available()),
        DevicePreference::Cpu => Ok(Device::Cpu),
        DevicePreference::Cuda(index) => {
            let available = if Cuda::is_available() {
                usize::try_from(Cuda::device_count()).unwrap_or(0)
            } else {
                0
            };
            if index < available {
                Ok(Device::Cuda(index))
            } else {
                Err(Error::CudaUnavailable { index, available })
            }
        }
    }
}

/// The device named by `CXR_DEVICE`, or [`DevicePreference::Auto`] when it is unset.
pub fn device_from_env() -> Result<Device> {
    let pref = match std::env::var(DEVICE_ENV) {
        Ok(v) => v.parse().map_err(|_| Error::UnknownDevice {
            value: v,
            origin: Some(DEVICE_ENV),
        })?,
        Err(_) => DevicePreference::Auto,
    };
    let device = select_device(pref)?;
    tracing::debug!(?device, "selected device");
    Ok(device)
}

/// What runs the networks on `device`, for the record a run keeps of where it was made
/// ([`cxr_core::Environment`]): libtorch's version (read beside the libtorch this process
/// loaded: `version.py` of a PyTorch wheel, `build-version` of a libtorch archive), the
/// device, libtorch's intra-op threads, and the CUDA devices with the CUDA runtime's and
/// cuDNN's versions when CUDA is there.
pub fn compute(device: Device) -> cxr_core::Compute {
    let accelerator = Cuda::is_available().then(|| {
        let n = Cuda::device_count();
        format!(
            "{n} CUDA device{}, CUDA runtime {}, cuDNN {}",
            if n == 1 { "" } else { "s" },
            cudart_version(tch::utils::version_cudart()),
            cudnn_version(tch::utils::version_cudnn()),
        )
    });
    cxr_core::Compute {
        library: libtorch_version().map_or_else(|| "libtorch".into(), |v| format!("libtorch {v}")),
        device: match device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
            other => format!("{other:?}").to_lowercase(),
        },
        threads: usize::try_from(tch::get_num_threads()).unwrap_or(0),
        accelerator,
    }
}

/// `CUDART_VERSION` (1000 × major + 10 × minor) as `12.8`.
fn cudart_version(v: i64) -> String {
    format!("{}.{}", v / 1000, v % 1000 / 10)
}

/// `CUDNN_VERSION` as `9.1.0`: 10000 × major + 100 × minor + patch from cuDNN 9 on,
/// 1000 × major + 100 × minor + patch before.
fn cudnn_version(v: i64) -> String {
    if v >= 90_000 {
        format!("{}.{}.{}", v / 10_000, v % 10_000 / 100, v % 100)
    } else {
        format!("{}.{}.{}", v / 1000, v % 1000 / 100, v % 100)
    }
}

/// The version of the libtorch this process loaded (`2.11.0+cu128`), from the files
/// beside its `lib/` folder; `None` where that cannot be told (another OS, a libtorch
/// without those files).
fn libtorch_version() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let lib = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            std::path::Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libtorch_cpu."))
        })?;
    let root = std::path::Path::new(lib).parent()?.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        // `__version__ = '2.11.0+cu128'`
        return text.lines().find_map(|l| {
            let v = l.strip_prefix("__version__")?.split(['\'', '"']).nth(1)?;
            (!v.is_empty()).then(|| v.to_string())
        });
    }
    let v = std::fs::read_to_string(root.join("build-version")).ok()?;
    Some(v.trim().to_string()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_parse() {
        assert_eq!(
            "auto".parse::<DevicePreference>().unwrap(),
            DevicePreference::Auto
        );
        assert_eq!(
            " CPU ".parse::<DevicePreference>().unwrap(),
            DevicePreference::Cpu
        );
        assert_eq!(
            "cuda".parse::<DevicePreference>().unwrap(),
            DevicePreference::Cuda(0)
        );
        assert_eq!(
            "cuda:3".parse::<DevicePreference>().unwrap(),
            DevicePreference::Cuda(3)
        );
        let e = "tpu".parse::<DevicePreference>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown device `tpu` (expected auto, cpu, cuda or cuda:N)"
        );
        assert!("cuda:x".parse::<DevicePreference>().is_err());
    }

    #[test]
    fn explicit_choices_resolve() {
        assert_eq!(select_device(DevicePreference::Cpu).unwrap(), Device::Cpu);
        let n = if Cuda::is_available() {
            Cuda::device_count() as usize
        } else {
            0
        };
        match select_device(DevicePreference::Cuda(n)) {
            Err(Error::CudaUnavailable { index, available }) => {
                assert_eq!((index, available), (n, n));
            }
            other => panic!("expected CudaUnavailable, got {other:?}"),
        }
        let auto = select_device(DevicePreference::Auto).unwrap();
        assert_eq!(auto.is_cuda(), Cuda::is_available());
    }

    #[test]
    fn compute_names_libtorch_device_and_threads() {
        let c = compute(Device::Cpu);
        assert_eq!(c.device, "cpu");
        assert_eq!(c.threads, tch::get_num_threads() as usize);
        assert_eq!(c.accelerator.is_some(), Cuda::is_available());
        // tch 0.24 runs only on PyTorch 2.11 (torch-sys checks it when it builds), and
        // `make setup` installs the wheel, whose `version.py` says so.
        assert!(c.library.starts_with("libtorch 2.11."), "{}", c.library);
        assert_eq!(cudart_version(12080), "12.8");
        assert_eq!(cudnn_version(90100), "9.1.0");
        assert_eq!(cudnn_version(8907), "8.9.7");
    }
}
