//! What the libtorch benches share: where they run and how they wait for it.

use tch::Device;

/// Bench device: `CXR_DEVICE` when set, else the CPU (a bench never moves to a GPU
/// unasked, so that CPU numbers stay comparable from machine to machine).
pub fn bench_device() -> Device {
    match std::env::var(cxr::nn::DEVICE_ENV) {
        Ok(_) => cxr::nn::device_from_env().expect("CXR_DEVICE names a usable device"),
        Err(_) => Device::Cpu,
    }
}

/// Waits for the device's queued work (a no-op on the CPU, which runs synchronously).
pub fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}
