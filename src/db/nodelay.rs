//! `TCP_NODELAY` on the database's TCP connections, which sqlx 0.9.0 no longer sets (sqlx issue
//! #4335, fixed upstream after that release). Without it, a statement larger than one TCP segment
//! (an import's chunk, a sampling run's batch) waits for the server's delayed acknowledgement,
//! about 40 ms, each time: measured, a million requests imported over TCP took 68 s against 43 s
//! through the Unix socket. sqlx does not hand out its sockets, so each new pooled connection
//! looks for them: every TCP socket of this process connected to the database's port gets the
//! option (setting it twice, or on a socket that closed meanwhile, is harmless). Remove this
//! module once sqlx is upgraded past 0.9.0.

use std::os::fd::{BorrowedFd, RawFd};

/// Set `TCP_NODELAY` on each TCP socket of this process whose peer port is `port`; returns how
/// many it set. Linux only (`/proc/self/fd`); elsewhere, nothing.
pub fn set_on_connections_to(port: u16) -> usize {
    connections_to(port)
        .into_iter()
        .filter(|&fd| with_socket(fd, |socket| socket.set_tcp_nodelay(true).is_ok()))
        .count()
}

/// Whether the socket behind `fd` has `TCP_NODELAY`.
pub fn is_set(fd: RawFd) -> bool {
    with_socket(fd, |socket| socket.tcp_nodelay().unwrap_or(false))
}

/// The descriptors of this process's TCP sockets connected to `port`.
pub fn connections_to(port: u16) -> Vec<RawFd> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    entries
        .flatten()
        // `/proc/self/fd/N` → `socket:[inode]` for a socket.
        .filter(|entry| {
            std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<RawFd>().ok()))
        .filter(|&fd| {
            with_socket(fd, |socket| {
                socket.r#type().ok() == Some(socket2::Type::STREAM)
                    && socket.peer_addr().ok().and_then(|peer| peer.as_socket()).is_some_and(|peer| peer.port() == port)
            })
        })
        .collect()
}

fn with_socket<T>(fd: RawFd, f: impl FnOnce(socket2::SockRef<'_>) -> T) -> T {
    // SAFETY: the descriptor is only borrowed for this call. Were it closed and its number reused
    // meanwhile, the call acts on whatever socket has the number now, or fails; callers check the
    // peer port first, which keeps them to connections to the database.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    f(socket2::SockRef::from(&borrowed))
}

/// The local port of the TCP socket behind `fd` (to tell a connection's socket from the others).
pub fn local_port(fd: RawFd) -> Option<u16> {
    with_socket(fd, |socket| socket.local_addr().ok().and_then(|local| local.as_socket()).map(|local| local.port()))
}
