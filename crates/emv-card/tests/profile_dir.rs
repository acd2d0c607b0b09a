//! A directory of profiles (`--profiles DIR`, `$EMVBENCH_CARD_PROFILES`) overrides and
//! extends the built-in profiles, and every profile says where it comes from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use emv_card::Personalisation;
use emv_card::profile::{self, ProfileSource};

#[test]
fn a_profile_directory_overrides_and_extends_the_built_in_profiles() {
    let dir = std::env::temp_dir().join(format!("emvbench-profiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // a new profile that extends a built-in one by name (no file of it next to it)
    std::fs::write(
        dir.join("my-visa.toml"),
        "extends = \"visa-cvn18\"\nname = \"my-visa\"\ndescription = \"mine\"\n",
    )
    .unwrap();
    // an override of a built-in profile that extends the built-in one of the same name
    std::fs::write(
        dir.join("mc-cvn16.toml"),
        "extends = \"mc-cvn16\"\ndescription = \"overridden\"\n",
    )
    .unwrap();
    assert!(profile::set_profile_dir(dir.clone()));
    assert_eq!(profile::profile_dir(), Some(dir.clone()));

    let catalog = profile::catalog();
    let source = |n: &str| {
        catalog
            .iter()
            .find(|e| e.name == n)
            .map(|e| e.source.clone())
            .unwrap_or_else(|| panic!("{n} missing from {catalog:?}"))
    };
    assert_eq!(
        source("my-visa"),
        ProfileSource::File(dir.join("my-visa.toml"))
    );
    assert_eq!(
        source("mc-cvn16"),
        ProfileSource::File(dir.join("mc-cvn16.toml"))
    );
    assert_eq!(source("visa-cvn22"), ProfileSource::BuiltIn("visa-cvn22"));
    // every built-in profile is still there
    for n in profile::builtin_names() {
        assert!(catalog.iter().any(|e| e.name == n), "{n}");
    }

    let mine = Personalisation::load("my-visa", &[]).unwrap();
    assert_eq!(
        (mine.name.as_str(), mine.description.as_str()),
        ("my-visa", "mine")
    );
    let mc = Personalisation::load("mc-cvn16", &[]).unwrap();
    assert_eq!(
        (mc.name.as_str(), mc.description.as_str()),
        ("mc-cvn16", "overridden")
    );

    let err = Personalisation::load("nope", &[]).unwrap_err().to_string();
    assert!(
        err.contains(&dir.display().to_string()) && err.contains("my-visa"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
