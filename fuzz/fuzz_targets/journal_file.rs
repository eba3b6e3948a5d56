//! A journal file of arbitrary bytes: opening and reading it gives errors, never panics.
#![no_main]

use tale::journal::{SqliteStore, Store};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("tale-fuzz-file-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("journal.db");
    let _ = std::fs::remove_file(dir.join("journal.db-wal"));
    let _ = std::fs::remove_file(dir.join("journal.db-shm"));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(store) = SqliteStore::open(&path) {
        if let Ok(sagas) = store.sagas(&[]) {
            for saga in sagas {
                let _ = store.records(saga.id);
                let _ = store.records_prefix(saga.id);
            }
        }
    }
});
