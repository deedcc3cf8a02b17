//! A granted-RBAC file (`kubectl get roles,clusterroles,rolebindings,clusterrolebindings -A
//! -o json`, or YAML) of arbitrary text: read or refused, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = auditlens_core::rbac::Granted::parse("granted.json", text);
});
