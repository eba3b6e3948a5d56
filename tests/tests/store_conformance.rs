//! The store conformance suite (`tale::journal::conformance`), run by the stores tale
//! ships: the memory store and the SQLite store on a file shared by several handles.

use tale::journal::{MemoryStore, SqliteStore, conformance};

#[test]
fn the_memory_store_conforms() {
    conformance::check(|| {
        let journal = MemoryStore::new();
        move |leases| journal.worker(leases)
    });
}

#[test]
fn the_sqlite_store_conforms() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("store_conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    conformance::check(|| {
        n += 1;
        let path = dir.join(format!("journal-{n}.db"));
        move |leases| SqliteStore::open(&path).unwrap().with_leases(leases)
    });
    let _ = std::fs::remove_dir_all(&dir);
}
