//! The derive macro's error messages and the type-level guarantees
//! (handles are `!Send`), pinned with trybuild.

#[test]
fn ui() {
    if std::env::var_os("PYGC_UNDER_VALGRIND").is_some() {
        // Runs rustc, not our code: nothing for memcheck to see.
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
