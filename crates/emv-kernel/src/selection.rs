//! Application selection: EMV 4.4 Book 1 §12 (PSE directory §12.3.2, list of AIDs
//! §12.3.3, final selection §12.4).

use emv_apdu::{StatusWord, Transport, commands};
use emv_auth::Host;
use emv_tlv::{Tag, Tlv, tags};
use serde::Serialize;

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;
use crate::util::hex;

/// An application on the candidate list (Book 1 §12.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// ADF / DF name as the card gave it.
    #[serde(serialize_with = "ser_hex")]
    pub df_name: Vec<u8>,
    /// Application label (50) or preferred name, else the AID in hex.
    pub label: String,
    /// Application Priority Indicator (87) if present.
    pub priority: Option<u8>,
    /// Index of the terminal AID it matched.
    pub aid_index: usize,
}

fn ser_hex<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(v))
}

impl Candidate {
    /// Book 1 §12.2.3, Table 13: b8 of the priority indicator, "application cannot be
    /// selected without confirmation of cardholder".
    pub fn confirmation_required(&self) -> bool {
        self.priority.is_some_and(|p| p & 0x80 != 0)
    }

    /// Priority order (b4-b1, 1 highest; 0 or absent = no priority, after the others).
    fn rank(&self) -> u8 {
        match self.priority.map(|p| p & 0x0F) {
            Some(p) if p != 0 => p,
            _ => 16,
        }
    }
}

/// The first primitive child with `tag` of a template.
fn child<'a>(t: &Tlv<'a>, tag: Tag) -> Option<&'a [u8]> {
    t.children()
        .map_while(Result::ok)
        .find(|c| c.tag() == tag)
        .map(|c| c.value())
}

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Terminal AID matching a card DF name: exact, or (when the AID's Application
    /// Selection Indicator allows it) the DF name begins with the AID (Book 1 §12.3.1).
    fn match_aid(&self, df_name: &[u8]) -> Option<usize> {
        let aids = &self.profile.aids;
        aids.iter().position(|a| a.aid == df_name).or_else(|| {
            aids.iter().position(|a| {
                a.partial_match && df_name.len() > a.aid.len() && df_name.starts_with(&a.aid)
            })
        })
    }

    /// Application selection (Book 1 §12): builds the candidate list on the first call,
    /// then performs final selection of the best remaining candidate. Called again after
    /// GET PROCESSING OPTIONS answers `6985`.
    pub fn application_selection(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::ApplicationSelection);
        // Book 1 §12.4: the candidate list is built once; a rejected application leaves
        // the remaining candidates for the next final selection
        if self.candidates.is_none() {
            let list = self.build_candidate_list()?;
            self.candidates = Some(list);
        }
        self.final_selection()
    }

    fn build_candidate_list(&mut self) -> Result<Vec<Candidate>, KernelError> {
        if self.profile.use_pse {
            match self.pse_candidates()? {
                Some(list) if !list.is_empty() => {
                    self.decide_per(
                        Topic::Selection,
                        "Book 1 §12.3.2",
                        format!("candidate list from the PSE: {} application(s)", list.len()),
                    );
                    return Ok(list);
                }
                Some(_) => self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.3.2 step 6",
                    "PSE lists no application the terminal supports: using the list of AIDs",
                ),
                None => {}
            }
        }
        let list = self.list_of_aids()?;
        self.decide_per(
            Topic::Selection,
            "Book 1 §12.3.3",
            format!(
                "candidate list from the list of AIDs: {} application(s)",
                list.len()
            ),
        );
        Ok(list)
    }

    /// Directory method (Book 1 §12.3.2). `Ok(None)`: PSE not usable, use the list of AIDs.
    fn pse_candidates(&mut self) -> Result<Option<Vec<Candidate>>, KernelError> {
        let Some(sfi) = self.pse_directory()? else {
            return Ok(None);
        };
        let mut list = Vec::new();
        for record in 1..=u8::MAX {
            let resp = self.send(&commands::read_record(sfi, record)?)?;
            if resp.sw == StatusWord::RecordNotFound {
                break;
            }
            if !resp.sw.is_success() {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.3.2 step 3",
                    format!(
                        "READ RECORD of the PSE directory answered {:04X}: using the list of AIDs",
                        resp.sw.to_u16()
                    ),
                );
                return Ok(None);
            }
            if !self.pse_record(&resp.data, &mut list) {
                return Ok(None);
            }
        }
        Ok(Some(list))
    }

    /// SELECT of the PSE and the SFI of its directory (Book 1 §12.3.2 steps 1-2); `None`
    /// when the list of AIDs is to be used instead.
    fn pse_directory(&mut self) -> Result<Option<u8>, KernelError> {
        let resp = self.send(&commands::select_pse())?;
        match resp.sw {
            StatusWord::Success => {}
            StatusWord::FunctionNotSupported => {
                return Err(KernelError::terminate(
                    "SELECT PSE answered 6A81: card blocked or SELECT not supported \
                     (Book 1 §12.3.2 step 1)",
                ));
            }
            sw => {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.3.2 step 1",
                    format!(
                        "SELECT PSE answered {:04X} ({}): using the list of AIDs",
                        sw.to_u16(),
                        sw.meaning()
                    ),
                );
                return Ok(None);
            }
        }
        let sfi = emv_tlv::parse_one(&resp.data)
            .ok()
            .filter(|fci| fci.tag() == tags::FCI_TEMPLATE)
            .and_then(|fci| fci.find(tags::SFI).map(|s| s.value().to_vec()));
        match sfi.as_deref() {
            Some([s @ 1..=10]) => Ok(Some(*s)),
            _ => {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.3.2 step 2",
                    "PSE FCI has no valid SFI of the directory (88): using the list of AIDs",
                );
                Ok(None)
            }
        }
    }

    /// The entries of one PSE directory record that the terminal supports, added to
    /// `list` (Book 1 §12.3.2 step 4); `false` for a malformed record (the list of AIDs is
    /// used instead).
    fn pse_record(&mut self, data: &[u8], list: &mut Vec<Candidate>) -> bool {
        let Ok(rec) = emv_tlv::parse_one(data) else {
            self.decide_per(
                Topic::Selection,
                "Book 1 §12.3.2",
                "malformed PSE directory record: using the list of AIDs",
            );
            return false;
        };
        if rec.tag() != tags::READ_RECORD_RESPONSE_TEMPLATE {
            self.decide_per(
                Topic::Selection,
                "Book 1 §12.3.2",
                "PSE directory record is not template 70: using the list of AIDs",
            );
            return false;
        }
        for entry in rec.children() {
            let Ok(entry) = entry else {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.3.2",
                    "malformed PSE directory entry: using the list of AIDs",
                );
                return false;
            };
            if entry.tag() != tags::APPLICATION_TEMPLATE {
                continue;
            }
            if child(&entry, tags::DDF_NAME).is_some() {
                self.decide(
                    Topic::Selection,
                    "PSE entry names a DDF (9D); nested directories are not followed",
                );
                continue;
            }
            let Some(adf) = child(&entry, tags::AID) else {
                continue;
            };
            match self.match_aid(adf) {
                Some(i) => {
                    let label = child(&entry, tags::APPLICATION_LABEL)
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                        .unwrap_or_else(|| hex(adf));
                    let priority = child(&entry, tags::APPLICATION_PRIORITY_INDICATOR)
                        .and_then(|p| p.first().copied());
                    self.decide_per(
                        Topic::Selection,
                        "Book 1 §12.3.2 step 4",
                        format!(
                            "PSE entry {} ({label}) matches terminal AID {}",
                            hex(adf),
                            hex(&self.profile.aids[i].aid)
                        ),
                    );
                    list.push(Candidate {
                        df_name: adf.to_vec(),
                        label,
                        priority,
                        aid_index: i,
                    });
                }
                None => self.decide(
                    Topic::Selection,
                    format!("PSE entry {} is not supported by the terminal", hex(adf)),
                ),
            }
        }
        true
    }

    /// List of AIDs method (Book 1 §12.3.3).
    fn list_of_aids(&mut self) -> Result<Vec<Candidate>, KernelError> {
        let mut list = Vec::new();
        for (i, terminal_aid) in self.profile.aids.clone().iter().enumerate() {
            let mut next = false;
            // a card offering more occurrences than this is not credible
            for _ in 0..16 {
                let cmd = if next {
                    commands::select_next(&terminal_aid.aid)
                } else {
                    commands::select(&terminal_aid.aid)
                };
                let resp = self.send(&cmd)?;
                let blocked = match resp.sw {
                    StatusWord::Success => false,
                    StatusWord::SelectedFileInvalidated => true,
                    StatusWord::FunctionNotSupported => {
                        return Err(KernelError::terminate(
                            "SELECT answered 6A81: card blocked or SELECT not supported \
                             (Book 1 §12.3.3 step 2)",
                        ));
                    }
                    _ => break,
                };
                let fci = emv_tlv::parse_one(&resp.data)
                    .ok()
                    .filter(|f| f.tag() == tags::FCI_TEMPLATE);
                let Some(fci) = fci else {
                    self.decide(
                        Topic::Selection,
                        format!(
                            "SELECT {} returned no FCI template: ignored",
                            hex(&terminal_aid.aid)
                        ),
                    );
                    break;
                };
                let Some(df_name) = child(&fci, tags::DF_NAME).map(<[u8]>::to_vec) else {
                    break;
                };
                let exact = df_name == terminal_aid.aid;
                let partial = df_name.len() > terminal_aid.aid.len()
                    && df_name.starts_with(&terminal_aid.aid);
                if blocked && (exact || partial) {
                    self.decide_per(
                        Topic::Selection,
                        "Book 1 §12.3.3 step 4",
                        format!(
                            "application {} is blocked (6283): not added to the candidate list",
                            hex(&df_name)
                        ),
                    );
                } else if exact || (partial && terminal_aid.partial_match) {
                    let a5 = fci.find(tags::FCI_PROPRIETARY_TEMPLATE);
                    let label = a5
                        .and_then(|a| child(&a, tags::APPLICATION_LABEL))
                        .map(|l| String::from_utf8_lossy(l).into_owned())
                        .unwrap_or_else(|| terminal_aid.label.clone());
                    let priority = a5
                        .and_then(|a| child(&a, tags::APPLICATION_PRIORITY_INDICATOR))
                        .and_then(|p| p.first().copied());
                    self.decide(
                        Topic::Selection,
                        format!(
                            "{} ({label}) added to the candidate list ({} match, Book 1 §12.3.3)",
                            hex(&df_name),
                            if exact { "exact" } else { "partial" }
                        ),
                    );
                    list.push(Candidate {
                        df_name,
                        label,
                        priority,
                        aid_index: i,
                    });
                } else if partial {
                    self.decide_per(
                        Topic::Selection,
                        "Book 1 §12.3.1",
                        format!(
                            "{} only partially matches {} whose selection indicator forbids it",
                            hex(&df_name),
                            hex(&terminal_aid.aid)
                        ),
                    );
                } else {
                    break;
                }
                // Book 1 §12.3.3 step 5: with partial selection allowed the card may hold
                // more applications starting with this AID: SELECT next occurrence.
                if !terminal_aid.partial_match {
                    break;
                }
                next = true;
            }
        }
        Ok(list)
    }

    /// Final selection (Book 1 §12.4): highest priority first, cardholder confirmation when
    /// the priority indicator asks for it, then SELECT; an application that does not answer
    /// 9000 with a valid FCI is removed and the next one is tried.
    fn final_selection(&mut self) -> Result<(), KernelError> {
        loop {
            let candidates = self.candidates.get_or_insert_default();
            if candidates.is_empty() {
                return Err(KernelError::terminate(
                    "no mutually supported application (Book 1 §12.4: candidate list empty)",
                ));
            }
            // stable: equal priorities keep the card's order
            candidates.sort_by_key(Candidate::rank);
            let c = candidates.remove(0);
            if c.confirmation_required() {
                if !self.profile.cardholder_confirmation {
                    self.decide_per(
                        Topic::Selection,
                        "Book 1 §12.4",
                        format!(
                            "{} requires cardholder confirmation, which this terminal cannot \
                         ask: not selected",
                            c.label
                        ),
                    );
                    continue;
                }
                if !self.pinpad.confirm_application(&c.label) {
                    self.decide(
                        Topic::Selection,
                        format!("cardholder did not confirm {}", c.label),
                    );
                    continue;
                }
            }
            let resp = self.send(&commands::select(&c.df_name))?;
            if !resp.sw.is_success() {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.4",
                    format!(
                        "final SELECT of {} answered {:04X} ({}): removed from the candidate list",
                        hex(&c.df_name),
                        resp.sw.to_u16(),
                        resp.sw.meaning()
                    ),
                );
                continue;
            }
            let fci = emv_tlv::parse_one(&resp.data)
                .ok()
                .filter(|f| f.tag() == tags::FCI_TEMPLATE);
            let Some(fci) = fci else {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.4",
                    format!(
                        "final SELECT of {}: FCI is not a valid template 6F: removed",
                        hex(&c.df_name)
                    ),
                );
                continue;
            };
            let df_name = child(&fci, tags::DF_NAME).map(<[u8]>::to_vec);
            let a5 = fci.find(tags::FCI_PROPRIETARY_TEMPLATE);
            if df_name.as_deref() != Some(c.df_name.as_slice()) || a5.is_none() {
                self.decide_per(
                    Topic::Selection,
                    "Book 1 §12.2.3",
                    format!(
                        "final SELECT of {}: FCI lacks the DF name or template A5: removed",
                        hex(&c.df_name)
                    ),
                );
                continue;
            }
            // a new application: its data replace any earlier candidate's
            self.data.clear_icc();
            self.data.set_fci(tags::DF_NAME, &c.df_name);
            if let Some(a5) = a5 {
                for obj in a5.children().map_while(Result::ok) {
                    if !obj.is_constructed() {
                        self.data.set_fci(obj.tag(), obj.value());
                    }
                }
            }
            let aid_cfg = &self.profile.aids[c.aid_index];
            self.data.set_terminal(tags::AID_TERMINAL, &aid_cfg.aid);
            self.data.set_terminal(
                tags::APPLICATION_VERSION_NUMBER_TERMINAL,
                &aid_cfg.application_version,
            );
            self.decide(
                Topic::Selection,
                format!("selected {} ({})", hex(&c.df_name), c.label),
            );
            self.selected = Some(c);
            return Ok(());
        }
    }
}
