//! Read application data: EMV 4.4 Book 3 §10.2 (READ RECORD along the AFL), collecting the
//! records for offline data authentication (Book 3 §10.3).

use emv_apdu::{Transport, commands};
use emv_auth::Host;
use emv_tlv::tags;

use crate::error::KernelError;
use crate::event::{Stage, Topic};
use crate::kernel::Transaction;
use crate::pinpad::PinPad;

impl<T, P, H> Transaction<'_, T, P, H>
where
    T: Transport + ?Sized,
    P: PinPad + ?Sized,
    H: Host + ?Sized,
{
    /// Reads every record the AFL names, stores the data objects (terminating on a
    /// duplicate), keeps the records flagged for ODA and checks the mandatory data.
    pub fn read_application_data(&mut self) -> Result<(), KernelError> {
        self.enter(Stage::ReadApplicationData);
        self.oda_data.clear();
        for entry in self.afl.0.clone() {
            for (n, record) in entry.records().enumerate() {
                let resp = self.send(&commands::read_record(entry.sfi, record)?)?;
                if !resp.sw.is_success() {
                    return Err(KernelError::terminate(format!(
                        "READ RECORD SFI {} record {record} answered {:04X} ({}) (Book 3 §10.2)",
                        entry.sfi,
                        resp.sw.to_u16(),
                        resp.sw.meaning()
                    )));
                }
                let for_oda = n < usize::from(entry.oda_records);
                let parsed = emv_tlv::parse_one(&resp.data);
                if entry.sfi <= 10 {
                    // Book 3 §10.2: records of SFI 1-10 are template 70; anything else ends
                    // the transaction.
                    let rec = parsed.map_err(|e| {
                        KernelError::terminate(format!(
                            "record SFI {} {record} is not one TLV object: {e} (Book 3 §10.2)",
                            entry.sfi
                        ))
                    })?;
                    if rec.tag() != tags::READ_RECORD_RESPONSE_TEMPLATE {
                        return Err(KernelError::terminate(format!(
                            "record SFI {} {record} is template {} instead of 70 (Book 3 §10.2)",
                            entry.sfi,
                            rec.tag()
                        )));
                    }
                    // Book 3 §10.3: for SFI 1-10 the ODA input is the value of 70
                    if for_oda {
                        self.oda_data.extend_from_slice(rec.value());
                    }
                    self.store_record(&rec)?;
                } else {
                    // SFI 11-30: the whole record, tag and length included (Book 3 §10.3)
                    if for_oda {
                        self.oda_data.extend_from_slice(&resp.data);
                    }
                    if let Ok(rec) = parsed
                        && rec.tag() == tags::READ_RECORD_RESPONSE_TEMPLATE
                    {
                        self.store_record(&rec)?;
                    }
                }
            }
        }
        // Book 3 §7.2: data objects that must be present
        for (tag, name) in [
            (tags::EXPIRY_DATE, "Application Expiration Date (5F24)"),
            (tags::PAN, "Application PAN (5A)"),
            (tags::CDOL1, "CDOL1 (8C)"),
            (tags::CDOL2, "CDOL2 (8D)"),
        ] {
            if self.data.icc(tag).is_none() {
                return Err(KernelError::terminate(format!(
                    "mandatory {name} missing (Book 3 §7.2, §10.2)"
                )));
            }
        }
        let records: usize = self.afl.0.iter().map(|e| e.records().count()).sum();
        self.decide(
            Topic::Initiation,
            format!(
                "read {records} record(s); {} bytes for offline data authentication",
                self.oda_data.len()
            ),
        );
        Ok(())
    }

    fn store_record(&mut self, rec: &emv_tlv::Tlv<'_>) -> Result<(), KernelError> {
        for obj in rec.children() {
            let obj = obj.map_err(|e| {
                KernelError::terminate(format!("malformed data in a record: {e} (Book 3 §10.2)"))
            })?;
            if obj.is_constructed() {
                continue;
            }
            if !self.data.insert_icc_unique(obj.tag(), obj.value()) {
                return Err(KernelError::terminate(format!(
                    "data object {} appears twice (Book 3 §10.2: the transaction shall be \
                     terminated)",
                    obj.tag()
                )));
            }
        }
        Ok(())
    }
}
