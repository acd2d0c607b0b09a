//! View PIN on the README's own example, end to end against `emvbench host serve
//! --provision-profiles` (run away from the repository, as installed): the README's token
//! request for `PL-4761-0119-A`, the device page for its `controlId`, and the PIN received
//! as a JWE for the device's own P-256 key (docs/pin.md §7, docs/issuer-host.md §6). The
//! same for the ACTIVE plastic of every built-in card profile that offers View PIN; a card
//! that cannot show its PIN is refused when the token is asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use emv_crypto::jwe::{self, PrivateJwk};
use emv_host::HttpHost;
use serde_json::{Value, json};

/// The README's issuer API key (the TEST key file's).
const API_KEY: &str = "test-issuer-api-key-do-not-use-in-production";

/// The README's example, as written there: its curl line names the plastic.
fn readme_plastic() -> &'static str {
    let readme = include_str!("../../../README.md");
    let curl = readme
        .lines()
        .find(|l| l.contains("/pin-control/v1/plastics/") && l.contains("/token"))
        .expect("the README's View PIN token example");
    assert!(
        readme.contains(&format!("Authorization: Bearer {API_KEY}")),
        "the README's key changed"
    );
    let id = curl
        .split("/pin-control/v1/plastics/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap();
    assert_eq!(id, "PL-4761-0119-A", "{curl}");
    "PL-4761-0119-A"
}

/// Whether `text` holds `digits` as a number of its own (not inside a longer run of digits:
/// a 4-digit PIN turns up by chance inside timestamps like `06:54:07.912342Z`).
fn holds_number(text: &str, digits: &str) -> bool {
    text.match_indices(digits).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// `text` without its long runs of `[A-Za-z0-9_-]` (16 characters and more): the random
/// snapshot ids, nonces and JWE parts a page carries.
fn without_random_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            run.push(c);
            continue;
        }
        if run.len() < 16 {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out
}

#[test]
fn a_pin_is_found_as_a_number_of_its_own_not_inside_a_timestamp() {
    assert_eq!(
        without_random_tokens("id=\"a1234bcdef0123456789\" pin 1234"),
        "id=\"\" pin 1234 "
    );
    assert!(!holds_number("06:54:07.912342Z finished", "1234"));
    assert!(holds_number("pin=1234 ok", "1234"));
    assert!(holds_number("1234", "1234"));
    assert!(holds_number("x 12345 then 1234.", "1234"));
}

/// The device page's data (`<script type="application/json" id="pc-data">`).
fn page_data(html: &str) -> Value {
    let data = html
        .split_once("id=\"pc-data\">")
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(json, _)| json)
        .unwrap_or_else(|| panic!("no pc-data in the page:\n{html}"));
    serde_json::from_str(data).unwrap()
}

/// The path of an absolute URL the host answered with.
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
}

/// The README's flow for one plastic: token, page, reveal; the PIN as the device reads it.
fn view_pin(url: &str, plastic: &str) -> Result<String, String> {
    let mut back_end = HttpHost::new(url).unwrap().with_api_key(API_KEY);
    let token: Value = back_end
        .call(
            "POST",
            &format!("/pin-control/v1/plastics/{plastic}/token"),
            Some(&json!({ "scope": "VIEW_PIN" })),
        )
        .map_err(|e| e.to_string())?;
    assert_eq!(token["expiresIn"], 30, "{token}");
    let mut device = HttpHost::new(url).unwrap();
    let (status, html) = device
        .post_form(
            &path_of(token["pinURL"].as_str().unwrap()),
            &[("controlId", token["id"].as_str().unwrap())],
        )
        .unwrap();
    assert_eq!(status, 200, "{html}");
    // the page shows dots until the device has the PIN, and never holds the PIN itself
    assert!(html.contains("••••"), "{html}");
    let page = page_data(&html);
    assert!(page.get("error").is_none(), "{page}");
    let key = PrivateJwk::generate_p256(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let public: Value = serde_json::from_str(&key.public_jwk().unwrap().to_json()).unwrap();
    let answer: Value = device
        .call(
            "POST",
            page["viewURL"].as_str().unwrap(),
            Some(&json!({ "publicKey": public })),
        )
        .map_err(|e| e.to_string())?;
    let plain = jwe::decrypt(answer["pin"].as_str().unwrap(), &key).unwrap();
    let pin = String::from_utf8(plain.plaintext.to_vec()).unwrap();
    // random ids and nonces (16 characters and more) can hold any 4 digits by chance
    assert!(
        !holds_number(&without_random_tokens(&html), &pin),
        "the page holds the PIN"
    );
    Ok(pin)
}

#[test]
fn view_pin_shows_the_pin_of_every_built_in_card_from_the_start() {
    let dir = common::empty_dir("view-pin");
    let (mut child, url) = common::serve_with(
        &dir.join("data"),
        &dir.join("host.log"),
        &["--provision-profiles"],
    );
    let plastic = readme_plastic();
    let flagship = emv_card::Personalisation::load("visa-cvn18", &[]).unwrap();
    assert_eq!(flagship.source.host.pin_verification, "pvv");
    assert_eq!(
        view_pin(&url, plastic).unwrap(),
        flagship.source.card.pin,
        "the README's example"
    );
    let mut checked = 0;
    for name in emv_card::profile::builtin_names() {
        let perso = emv_card::Personalisation::load(name, &[]).unwrap();
        if !perso.source.host.view_pin {
            continue;
        }
        for p in perso
            .source
            .host
            .plastics
            .iter()
            .filter(|p| p.status == "ACTIVE")
        {
            assert_eq!(
                view_pin(&url, &p.id).unwrap_or_else(|e| panic!("{name} {}: {e}", p.id)),
                perso.source.card.pin,
                "{name} {}",
                p.id
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} plastics checked");
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.join("host.log")).unwrap();
    assert!(
        !holds_number(&log, &flagship.source.card.pin),
        "a PIN in the log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A card profile whose plastics do not offer View PIN (`view_pin = false`, a PVV card):
/// its token is refused with a clear JSON error, before any device is involved.
#[test]
fn a_card_that_cannot_show_its_pin_is_refused_at_token_time() {
    let dir = common::empty_dir("view-pin-refused");
    let cards = dir.join("cards");
    std::fs::create_dir_all(&cards).unwrap();
    std::fs::write(
        cards.join("one-way.toml"),
        "extends = \"visa-cvn18\"\nname = \"one-way\"\ndescription = \"PVV only\"\n\n\
         [card]\npan = \"4761739001019995\"\n\n[host]\nview_pin = false\n\
         plastics = [{ id = \"PL-ONE-WAY\", expiry = \"2912\", status = \"ACTIVE\" }]\n",
    )
    .unwrap();
    let (mut child, url) = common::serve_with(
        &dir.join("data"),
        &dir.join("host.log"),
        &[
            "--provision-profiles",
            "--profiles",
            cards.to_str().unwrap(),
        ],
    );
    let mut back_end = HttpHost::new(&url).unwrap().with_api_key(API_KEY);
    let e = back_end
        .call::<_, Value>(
            "POST",
            "/pin-control/v1/plastics/PL-ONE-WAY/token",
            Some(&json!({ "scope": "VIEW_PIN" })),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 409: pin-not-recoverable"), "{e}");
    assert!(e.contains("View PIN is not offered for this card"), "{e}");
    // the other cards still show theirs
    assert_eq!(view_pin(&url, readme_plastic()).unwrap().len(), 4);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
