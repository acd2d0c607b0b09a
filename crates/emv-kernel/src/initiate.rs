//! Initiate application processing: EMV 4.4 Book 3 §10.1 (GET PROCESSING OPTIONS,
//! §6.5.8).

use emv_apdu::{StatusWord, Transport, commands};
use emv_auth::Host;
use emv_tlv::bits::{Afl, Aip, Tsi, Tvr};
use emv_tlv::{Dol, tags};

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;
use crate::util::hex;

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// GET PROCESSING OPTIONS with the PDOL data. `Ok(false)`: the card answered `6985`,
    /// the application was removed and selection must run again (Book 3 §10.1).
    pub fn initiate_application_processing(&mut self) -> Result<bool, KernelError> {
        self.enter(Stage::InitiateApplicationProcessing);
        // Book 3 §10.1: "The terminal shall set all bits in the TVR and the TSI to zero."
        self.tvr = Tvr::new();
        self.tsi = Tsi::new();
        self.sync_results();
        let pdol_data = match self.data.icc(tags::PDOL) {
            Some(pdol) => {
                let dol = Dol::parse(pdol).map_err(|e| {
                    KernelError::terminate(format!("PDOL (9F38) is malformed: {e} (Book 3 §5.4)"))
                })?;
                let data = self.data.build_dol(&dol);
                self.decide(
                    Topic::Initiation,
                    format!("PDOL data ({} bytes): {}", data.len(), hex(&data)),
                );
                data
            }
            None => {
                // Book 3 §10.1: without a PDOL the command data is an empty template 83
                self.decide_per(
                    Topic::Initiation,
                    "Book 3 §10.1",
                    "no PDOL (9F38) in the FCI: GET PROCESSING OPTIONS with an empty template 83 00",
                );
                Vec::new()
            }
        };
        let resp = self.send(&commands::get_processing_options(&pdol_data))?;
        if resp.sw == StatusWord::ConditionsNotSatisfied {
            self.decide_per(
                Topic::Initiation,
                "Book 3 §10.1",
                "GET PROCESSING OPTIONS answered 6985: application removed, back to \
                 application selection",
            );
            return Ok(false);
        }
        if !resp.sw.is_success() {
            return Err(KernelError::terminate(format!(
                "GET PROCESSING OPTIONS answered {:04X} ({}) (Book 3 §10.1)",
                resp.sw.to_u16(),
                resp.sw.meaning()
            )));
        }
        self.pdol_data = pdol_data;
        let tlv = emv_tlv::parse_one(&resp.data)?;
        let (aip, afl) = match tlv.tag() {
            // Format 1 (Book 3 §6.5.8.4): AIP ‖ AFL
            t if t == tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_1 => {
                let v = tlv.value();
                if v.len() < 2 {
                    return Err(KernelError::terminate(
                        "GPO format 1 response shorter than the AIP (Book 3 §6.5.8.4)",
                    ));
                }
                (v[..2].to_vec(), v[2..].to_vec())
            }
            // Format 2: template 77 with 82 and 94 at least
            t if t == tags::RESPONSE_MESSAGE_TEMPLATE_FORMAT_2 => {
                for obj in tlv.children() {
                    let obj = obj?;
                    if !obj.is_constructed() && !self.data.insert_icc_unique(obj.tag(), obj.value())
                    {
                        return Err(KernelError::terminate(format!(
                            "GPO response repeats {} (Book 3 §10.2)",
                            obj.tag()
                        )));
                    }
                }
                let aip = self.data.icc(tags::AIP).map(<[u8]>::to_vec);
                let afl = self.data.icc(tags::AFL).map(<[u8]>::to_vec);
                match (aip, afl) {
                    (Some(aip), Some(afl)) => (aip, afl),
                    _ => {
                        return Err(KernelError::terminate(
                            "GPO format 2 response lacks the AIP (82) or the AFL (94) \
                             (Book 3 §6.5.8.4)",
                        ));
                    }
                }
            }
            t => {
                return Err(KernelError::terminate(format!(
                    "GPO response template {t} is neither 80 nor 77 (Book 3 §6.5.8.4)"
                )));
            }
        };
        self.aip = Aip::from_slice(&aip)
            .ok_or_else(|| KernelError::terminate("AIP is not 2 bytes (Book 3 §6.5.8.4)"))?;
        self.afl = Afl::parse(&afl)
            .map_err(|e| KernelError::terminate(format!("AFL is malformed: {e} (Book 3 §10.2)")))?;
        self.data.set_icc(tags::AIP, &aip);
        self.data.set_icc(tags::AFL, &afl);
        self.decide(
            Topic::Initiation,
            format!("AIP {}, AFL {}", hex(&aip), hex(&afl)),
        );
        Ok(true)
    }
}
