//! Provisioning a card (docs/issuer-host.md §1, §7): a new card, a refresh that keeps
//! what the card lived through, or a reset to the provisioning data.

use serde::{Deserialize, Serialize};

use super::CardId;
use crate::Error;

/// What provisioning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
pub enum ProvisionOutcome {
    /// A new card.
    #[strum(serialize = "provision-create")]
    Created,
    /// An existing card: keys, expiry, limits and plastics refreshed; PIN, counters,
    /// balance, chip knowledge and scripts kept.
    #[strum(serialize = "provision-update")]
    Updated,
    /// An existing card reset to the provisioning data (PIN, counters, balance, status),
    /// chip knowledge forgotten, open scripts superseded.
    #[strum(serialize = "provision-reset")]
    Reset,
}

impl ProvisionOutcome {
    /// The audit action (`provision-create`, `provision-update`, `provision-reset`).
    pub fn action(self) -> &'static str {
        self.into()
    }
}

/// A card with this PAN and PSN is refreshed, or reset when asked; else it is created.
pub fn outcome(existing: Option<CardId>, reset: bool) -> ProvisionOutcome {
    match existing {
        None => ProvisionOutcome::Created,
        Some(_) if reset => ProvisionOutcome::Reset,
        Some(_) => ProvisionOutcome::Updated,
    }
}

/// What becomes of one provisioned plastic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlasticUpdate {
    /// A new plastic of the card.
    Insert,
    /// The card's plastic: its expiry is refreshed, it keeps the status the issuer gave
    /// it since.
    RefreshExpiry,
}

/// A plastic id belongs to one card: one of another card is refused.
pub fn plastic(
    owner: Option<CardId>,
    card: CardId,
    plastic_id: &str,
) -> Result<PlasticUpdate, Error> {
    match owner {
        None => Ok(PlasticUpdate::Insert),
        Some(o) if o == card => Ok(PlasticUpdate::RefreshExpiry),
        Some(_) => Err(Error::Provision(format!(
            "plasticId {plastic_id} belongs to another card"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_refresh_or_reset_and_plastics_stay_with_their_card() {
        assert_eq!(outcome(None, true), ProvisionOutcome::Created);
        assert_eq!(outcome(Some(CardId(1)), false), ProvisionOutcome::Updated);
        assert_eq!(outcome(Some(CardId(1)), true), ProvisionOutcome::Reset);
        assert_eq!(ProvisionOutcome::Reset.action(), "provision-reset");
        assert_eq!(
            plastic(None, CardId(1), "P").unwrap(),
            PlasticUpdate::Insert
        );
        assert_eq!(
            plastic(Some(CardId(1)), CardId(1), "P").unwrap(),
            PlasticUpdate::RefreshExpiry
        );
        assert!(matches!(
            plastic(Some(CardId(2)), CardId(1), "P"),
            Err(Error::Provision(_))
        ));
    }
}
