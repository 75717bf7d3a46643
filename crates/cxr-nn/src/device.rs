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
}
