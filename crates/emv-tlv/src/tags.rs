//! Named constants for the EMV tags the kernel, the card and the issuer host use.
//!
//! Names follow the EMV data element names (EMV 4.4 Book 3 Annex A, Book 4 Annex A) in
//! SCREAMING_SNAKE, shortened to the usual acronym where EMV defines one (`AIP`, `TVR`, ...).
//! Every constant here has an entry in [`crate::dictionary`] (enforced by a test there).

use crate::tag::Tag;

// ---- Templates -------------------------------------------------------------------------

/// `61` Application Template (a directory entry in a PSE/PPSE record or FCI).
pub const APPLICATION_TEMPLATE: Tag = Tag::new(0x61);
/// `6F` File Control Information (FCI) Template: the SELECT response.
pub const FCI_TEMPLATE: Tag = Tag::new(0x6F);
/// `70` READ RECORD Response Message Template (also the generic EMV data template).
pub const READ_RECORD_RESPONSE_TEMPLATE: Tag = Tag::new(0x70);
/// `71` Issuer Script Template 1: script run before the second GENERATE AC.
pub const ISSUER_SCRIPT_TEMPLATE_1: Tag = Tag::new(0x71);
/// `72` Issuer Script Template 2: script run after the second GENERATE AC.
pub const ISSUER_SCRIPT_TEMPLATE_2: Tag = Tag::new(0x72);
/// `73` Directory Discretionary Template (inside an Application Template `61`).
pub const DIRECTORY_DISCRETIONARY_TEMPLATE: Tag = Tag::new(0x73);
/// `77` Response Message Template Format 2 (GPO, GENERATE AC, INTERNAL AUTHENTICATE).
pub const RESPONSE_MESSAGE_TEMPLATE_FORMAT_2: Tag = Tag::new(0x77);
/// `80` Response Message Template Format 1: untagged concatenation of the response values.
pub const RESPONSE_MESSAGE_TEMPLATE_FORMAT_1: Tag = Tag::new(0x80);
/// `A5` File Control Information (FCI) Proprietary Template.
pub const FCI_PROPRIETARY_TEMPLATE: Tag = Tag::new(0xA5);
/// `BF0C` File Control Information (FCI) Issuer Discretionary Data.
pub const FCI_ISSUER_DISCRETIONARY_DATA: Tag = Tag::new(0xBF0C);

// ---- Application selection -------------------------------------------------------------

/// `42` Issuer Identification Number (IIN).
pub const IIN: Tag = Tag::new(0x42);
/// `4F` Application Dedicated File (ADF) Name: the card's AID.
pub const AID: Tag = Tag::new(0x4F);
/// `50` Application Label.
pub const APPLICATION_LABEL: Tag = Tag::new(0x50);
/// `5F2D` Language Preference.
pub const LANGUAGE_PREFERENCE: Tag = Tag::new(0x5F2D);
/// `5F50` Issuer URL.
pub const ISSUER_URL: Tag = Tag::new(0x5F50);
/// `5F53` International Bank Account Number (IBAN).
pub const IBAN: Tag = Tag::new(0x5F53);
/// `5F54` Bank Identifier Code (BIC).
pub const BIC: Tag = Tag::new(0x5F54);
/// `5F55` Issuer Country Code (alpha2 format).
pub const ISSUER_COUNTRY_CODE_ALPHA2: Tag = Tag::new(0x5F55);
/// `5F56` Issuer Country Code (alpha3 format).
pub const ISSUER_COUNTRY_CODE_ALPHA3: Tag = Tag::new(0x5F56);
/// `84` Dedicated File (DF) Name.
pub const DF_NAME: Tag = Tag::new(0x84);
/// `87` Application Priority Indicator.
pub const APPLICATION_PRIORITY_INDICATOR: Tag = Tag::new(0x87);
/// `88` Short File Identifier (SFI) of the directory elementary file.
pub const SFI: Tag = Tag::new(0x88);
/// `9D` Directory Definition File (DDF) Name.
pub const DDF_NAME: Tag = Tag::new(0x9D);
/// `9F06` Application Identifier (AID) - terminal.
pub const AID_TERMINAL: Tag = Tag::new(0x9F06);
/// `9F0A` Application Selection Registered Proprietary Data.
pub const ASRPD: Tag = Tag::new(0x9F0A);
/// `9F0C` Issuer Identification Number Extended (IINE).
pub const IINE: Tag = Tag::new(0x9F0C);
/// `9F11` Issuer Code Table Index.
pub const ISSUER_CODE_TABLE_INDEX: Tag = Tag::new(0x9F11);
/// `9F12` Application Preferred Name.
pub const APPLICATION_PREFERRED_NAME: Tag = Tag::new(0x9F12);
/// `9F29` Extended Selection (EMV contactless Book B).
pub const EXTENDED_SELECTION: Tag = Tag::new(0x9F29);
/// `9F2A` Kernel Identifier (EMV contactless Book B).
pub const KERNEL_IDENTIFIER: Tag = Tag::new(0x9F2A);
/// `9F38` Processing Options Data Object List (PDOL).
pub const PDOL: Tag = Tag::new(0x9F38);
/// `9F4D` Log Entry: SFI and number of records of the transaction log.
pub const LOG_ENTRY: Tag = Tag::new(0x9F4D);

// ---- Card application data (records and GPO) -------------------------------------------

/// `56` Track 1 Data (EMV contactless Book C-2).
pub const TRACK1_DATA: Tag = Tag::new(0x56);
/// `57` Track 2 Equivalent Data.
pub const TRACK2_EQUIVALENT_DATA: Tag = Tag::new(0x57);
/// `5A` Application Primary Account Number (PAN).
pub const PAN: Tag = Tag::new(0x5A);
/// `5F20` Cardholder Name.
pub const CARDHOLDER_NAME: Tag = Tag::new(0x5F20);
/// `5F24` Application Expiration Date (YYMMDD).
pub const EXPIRY_DATE: Tag = Tag::new(0x5F24);
/// `5F25` Application Effective Date (YYMMDD).
pub const EFFECTIVE_DATE: Tag = Tag::new(0x5F25);
/// `5F28` Issuer Country Code (ISO 3166-1 numeric).
pub const ISSUER_COUNTRY_CODE: Tag = Tag::new(0x5F28);
/// `5F30` Service Code.
pub const SERVICE_CODE: Tag = Tag::new(0x5F30);
/// `5F34` Application Primary Account Number (PAN) Sequence Number.
pub const PAN_SEQUENCE_NUMBER: Tag = Tag::new(0x5F34);
/// `82` Application Interchange Profile (AIP).
pub const AIP: Tag = Tag::new(0x82);
/// `8C` Card Risk Management Data Object List 1 (CDOL1).
pub const CDOL1: Tag = Tag::new(0x8C);
/// `8D` Card Risk Management Data Object List 2 (CDOL2).
pub const CDOL2: Tag = Tag::new(0x8D);
/// `8E` Cardholder Verification Method (CVM) List.
pub const CVM_LIST: Tag = Tag::new(0x8E);
/// `94` Application File Locator (AFL).
pub const AFL: Tag = Tag::new(0x94);
/// `97` Transaction Certificate Data Object List (TDOL).
pub const TDOL: Tag = Tag::new(0x97);
/// `9F05` Application Discretionary Data.
pub const APPLICATION_DISCRETIONARY_DATA: Tag = Tag::new(0x9F05);
/// `9F07` Application Usage Control (AUC).
pub const AUC: Tag = Tag::new(0x9F07);
/// `9F08` Application Version Number (card).
pub const APPLICATION_VERSION_NUMBER: Tag = Tag::new(0x9F08);
/// `9F0B` Cardholder Name Extended.
pub const CARDHOLDER_NAME_EXTENDED: Tag = Tag::new(0x9F0B);
/// `9F0D` Issuer Action Code - Default.
pub const IAC_DEFAULT: Tag = Tag::new(0x9F0D);
/// `9F0E` Issuer Action Code - Denial.
pub const IAC_DENIAL: Tag = Tag::new(0x9F0E);
/// `9F0F` Issuer Action Code - Online.
pub const IAC_ONLINE: Tag = Tag::new(0x9F0F);
/// `9F14` Lower Consecutive Offline Limit.
pub const LOWER_CONSECUTIVE_OFFLINE_LIMIT: Tag = Tag::new(0x9F14);
/// `9F19` Token Requestor ID.
pub const TOKEN_REQUESTOR_ID: Tag = Tag::new(0x9F19);
/// `9F1F` Track 1 Discretionary Data.
pub const TRACK1_DISCRETIONARY_DATA: Tag = Tag::new(0x9F1F);
/// `9F20` Track 2 Discretionary Data.
pub const TRACK2_DISCRETIONARY_DATA: Tag = Tag::new(0x9F20);
/// `9F23` Upper Consecutive Offline Limit.
pub const UPPER_CONSECUTIVE_OFFLINE_LIMIT: Tag = Tag::new(0x9F23);
/// `9F24` Payment Account Reference (PAR).
pub const PAYMENT_ACCOUNT_REFERENCE: Tag = Tag::new(0x9F24);
/// `9F3B` Application Reference Currency.
pub const APPLICATION_REFERENCE_CURRENCY: Tag = Tag::new(0x9F3B);
/// `9F42` Application Currency Code.
pub const APPLICATION_CURRENCY_CODE: Tag = Tag::new(0x9F42);
/// `9F43` Application Reference Currency Exponent.
pub const APPLICATION_REFERENCE_CURRENCY_EXPONENT: Tag = Tag::new(0x9F43);
/// `9F44` Application Currency Exponent.
pub const APPLICATION_CURRENCY_EXPONENT: Tag = Tag::new(0x9F44);
/// `9F49` Dynamic Data Authentication Data Object List (DDOL).
pub const DDOL: Tag = Tag::new(0x9F49);
/// `9F4A` Static Data Authentication Tag List.
pub const SDA_TAG_LIST: Tag = Tag::new(0x9F4A);
/// `9F4F` Log Format: a DOL describing one transaction log record.
pub const LOG_FORMAT: Tag = Tag::new(0x9F4F);

// ---- Card-generated data (GENERATE AC, INTERNAL AUTHENTICATE, GET DATA) ----------------

/// `9F10` Issuer Application Data (IAD).
pub const ISSUER_APPLICATION_DATA: Tag = Tag::new(0x9F10);
/// `9F13` Last Online Application Transaction Counter (ATC) Register.
pub const LAST_ONLINE_ATC_REGISTER: Tag = Tag::new(0x9F13);
/// `9F17` Personal Identification Number (PIN) Try Counter.
pub const PIN_TRY_COUNTER: Tag = Tag::new(0x9F17);
/// `9F26` Application Cryptogram (ARQC, TC or AAC).
pub const APPLICATION_CRYPTOGRAM: Tag = Tag::new(0x9F26);
/// `9F27` Cryptogram Information Data (CID).
pub const CID: Tag = Tag::new(0x9F27);
/// `9F36` Application Transaction Counter (ATC).
pub const ATC: Tag = Tag::new(0x9F36);
/// `9F45` Data Authentication Code (recovered from SDA).
pub const DATA_AUTHENTICATION_CODE: Tag = Tag::new(0x9F45);
/// `9F4B` Signed Dynamic Application Data (DDA/CDA signature).
pub const SIGNED_DYNAMIC_APPLICATION_DATA: Tag = Tag::new(0x9F4B);
/// `9F4C` Integrated Circuit Card (ICC) Dynamic Number.
pub const ICC_DYNAMIC_NUMBER: Tag = Tag::new(0x9F4C);

// ---- Offline data authentication (card) ------------------------------------------------

/// `8F` Certification Authority Public Key Index (card).
pub const CA_PUBLIC_KEY_INDEX: Tag = Tag::new(0x8F);
/// `90` Issuer Public Key Certificate.
pub const ISSUER_PUBLIC_KEY_CERTIFICATE: Tag = Tag::new(0x90);
/// `92` Issuer Public Key Remainder.
pub const ISSUER_PUBLIC_KEY_REMAINDER: Tag = Tag::new(0x92);
/// `93` Signed Static Application Data (SDA signature).
pub const SIGNED_STATIC_APPLICATION_DATA: Tag = Tag::new(0x93);
/// `9F2D` Integrated Circuit Card (ICC) PIN Encipherment Public Key Certificate.
pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_CERTIFICATE: Tag = Tag::new(0x9F2D);
/// `9F2E` Integrated Circuit Card (ICC) PIN Encipherment Public Key Exponent.
pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_EXPONENT: Tag = Tag::new(0x9F2E);
/// `9F2F` Integrated Circuit Card (ICC) PIN Encipherment Public Key Remainder.
pub const ICC_PIN_ENCIPHERMENT_PUBLIC_KEY_REMAINDER: Tag = Tag::new(0x9F2F);
/// `9F32` Issuer Public Key Exponent.
pub const ISSUER_PUBLIC_KEY_EXPONENT: Tag = Tag::new(0x9F32);
/// `9F46` Integrated Circuit Card (ICC) Public Key Certificate.
pub const ICC_PUBLIC_KEY_CERTIFICATE: Tag = Tag::new(0x9F46);
/// `9F47` Integrated Circuit Card (ICC) Public Key Exponent.
pub const ICC_PUBLIC_KEY_EXPONENT: Tag = Tag::new(0x9F47);
/// `9F48` Integrated Circuit Card (ICC) Public Key Remainder.
pub const ICC_PUBLIC_KEY_REMAINDER: Tag = Tag::new(0x9F48);

// ---- Terminal data ---------------------------------------------------------------------

/// `5F2A` Transaction Currency Code (ISO 4217 numeric).
pub const TRANSACTION_CURRENCY_CODE: Tag = Tag::new(0x5F2A);
/// `5F36` Transaction Currency Exponent.
pub const TRANSACTION_CURRENCY_EXPONENT: Tag = Tag::new(0x5F36);
/// `5F57` Account Type.
pub const ACCOUNT_TYPE: Tag = Tag::new(0x5F57);
/// `81` Amount, Authorised (Binary).
pub const AMOUNT_AUTHORISED_BINARY: Tag = Tag::new(0x81);
/// `83` Command Template.
pub const COMMAND_TEMPLATE: Tag = Tag::new(0x83);
/// `95` Terminal Verification Results (TVR).
pub const TVR: Tag = Tag::new(0x95);
/// `98` Transaction Certificate (TC) Hash Value.
pub const TC_HASH_VALUE: Tag = Tag::new(0x98);
/// `99` Transaction Personal Identification Number (PIN) Data.
pub const TRANSACTION_PIN_DATA: Tag = Tag::new(0x99);
/// `9A` Transaction Date (YYMMDD).
pub const TRANSACTION_DATE: Tag = Tag::new(0x9A);
/// `9B` Transaction Status Information (TSI).
pub const TSI: Tag = Tag::new(0x9B);
/// `9C` Transaction Type.
pub const TRANSACTION_TYPE: Tag = Tag::new(0x9C);
/// `9F01` Acquirer Identifier.
pub const ACQUIRER_IDENTIFIER: Tag = Tag::new(0x9F01);
/// `9F02` Amount, Authorised (Numeric).
pub const AMOUNT_AUTHORISED: Tag = Tag::new(0x9F02);
/// `9F03` Amount, Other (Numeric).
pub const AMOUNT_OTHER: Tag = Tag::new(0x9F03);
/// `9F04` Amount, Other (Binary).
pub const AMOUNT_OTHER_BINARY: Tag = Tag::new(0x9F04);
/// `9F09` Application Version Number (terminal).
pub const APPLICATION_VERSION_NUMBER_TERMINAL: Tag = Tag::new(0x9F09);
/// `9F15` Merchant Category Code.
pub const MERCHANT_CATEGORY_CODE: Tag = Tag::new(0x9F15);
/// `9F16` Merchant Identifier.
pub const MERCHANT_IDENTIFIER: Tag = Tag::new(0x9F16);
/// `9F1A` Terminal Country Code (ISO 3166-1 numeric).
pub const TERMINAL_COUNTRY_CODE: Tag = Tag::new(0x9F1A);
/// `9F1B` Terminal Floor Limit.
pub const TERMINAL_FLOOR_LIMIT: Tag = Tag::new(0x9F1B);
/// `9F1C` Terminal Identification.
pub const TERMINAL_IDENTIFICATION: Tag = Tag::new(0x9F1C);
/// `9F1D` Terminal Risk Management Data.
pub const TERMINAL_RISK_MANAGEMENT_DATA: Tag = Tag::new(0x9F1D);
/// `9F1E` Interface Device (IFD) Serial Number.
pub const IFD_SERIAL_NUMBER: Tag = Tag::new(0x9F1E);
/// `9F21` Transaction Time (HHMMSS).
pub const TRANSACTION_TIME: Tag = Tag::new(0x9F21);
/// `9F22` Certification Authority Public Key Index (terminal).
pub const CA_PUBLIC_KEY_INDEX_TERMINAL: Tag = Tag::new(0x9F22);
/// `9F33` Terminal Capabilities.
pub const TERMINAL_CAPABILITIES: Tag = Tag::new(0x9F33);
/// `9F34` Cardholder Verification Method (CVM) Results.
pub const CVM_RESULTS: Tag = Tag::new(0x9F34);
/// `9F35` Terminal Type.
pub const TERMINAL_TYPE: Tag = Tag::new(0x9F35);
/// `9F37` Unpredictable Number.
pub const UNPREDICTABLE_NUMBER: Tag = Tag::new(0x9F37);
/// `9F39` Point-of-Service (POS) Entry Mode.
pub const POS_ENTRY_MODE: Tag = Tag::new(0x9F39);
/// `9F3A` Amount, Reference Currency.
pub const AMOUNT_REFERENCE_CURRENCY: Tag = Tag::new(0x9F3A);
/// `9F3C` Transaction Reference Currency Code.
pub const TRANSACTION_REFERENCE_CURRENCY_CODE: Tag = Tag::new(0x9F3C);
/// `9F3D` Transaction Reference Currency Exponent.
pub const TRANSACTION_REFERENCE_CURRENCY_EXPONENT: Tag = Tag::new(0x9F3D);
/// `9F40` Additional Terminal Capabilities.
pub const ADDITIONAL_TERMINAL_CAPABILITIES: Tag = Tag::new(0x9F40);
/// `9F41` Transaction Sequence Counter.
pub const TRANSACTION_SEQUENCE_COUNTER: Tag = Tag::new(0x9F41);
/// `9F4E` Merchant Name and Location.
pub const MERCHANT_NAME_AND_LOCATION: Tag = Tag::new(0x9F4E);
/// `9F53` Transaction Category Code (Mastercard; EMV contactless Book C-2).
pub const TRANSACTION_CATEGORY_CODE: Tag = Tag::new(0x9F53);
/// `9F5B` Issuer Script Results (payment-system tag for the Book 4 data element).
pub const ISSUER_SCRIPT_RESULTS: Tag = Tag::new(0x9F5B);

// ---- Issuer response -------------------------------------------------------------------

/// `86` Issuer Script Command.
pub const ISSUER_SCRIPT_COMMAND: Tag = Tag::new(0x86);
/// `89` Authorisation Code.
pub const AUTHORISATION_CODE: Tag = Tag::new(0x89);
/// `8A` Authorisation Response Code.
pub const AUTHORISATION_RESPONSE_CODE: Tag = Tag::new(0x8A);
/// `91` Issuer Authentication Data (ARPC and its companions).
pub const ISSUER_AUTHENTICATION_DATA: Tag = Tag::new(0x91);
/// `9F18` Issuer Script Identifier.
pub const ISSUER_SCRIPT_IDENTIFIER: Tag = Tag::new(0x9F18);

// ---- Contactless (EMV Books A, B, C-2, C-3) --------------------------------------------

/// `9F66` Terminal Transaction Qualifiers (TTQ).
pub const TTQ: Tag = Tag::new(0x9F66);
/// `9F6A` Unpredictable Number (Numeric) (Book C-2 mag-stripe mode).
pub const UNPREDICTABLE_NUMBER_NUMERIC: Tag = Tag::new(0x9F6A);
/// `9F6B` Track 2 Data (Book C-2).
pub const TRACK2_DATA: Tag = Tag::new(0x9F6B);
/// `9F6C` Card Transaction Qualifiers (CTQ).
pub const CTQ: Tag = Tag::new(0x9F6C);
/// `9F6E` Form Factor Indicator (Book C-3); Third Party Data in Book C-2.
pub const FORM_FACTOR_INDICATOR: Tag = Tag::new(0x9F6E);
/// `9F7C` Customer Exclusive Data (Book C-3); Merchant Custom Data in Book C-2.
pub const CUSTOMER_EXCLUSIVE_DATA: Tag = Tag::new(0x9F7C);
/// `DF810C` Kernel ID (Book C-2).
pub const KERNEL_ID: Tag = Tag::new(0xDF810C);
/// `DF8115` Error Indication (Book C-2).
pub const ERROR_INDICATION: Tag = Tag::new(0xDF8115);
/// `DF8116` User Interface Request Data (Book C-2).
pub const USER_INTERFACE_REQUEST_DATA: Tag = Tag::new(0xDF8116);
/// `DF8117` Card Data Input Capability (Book C-2).
pub const CARD_DATA_INPUT_CAPABILITY: Tag = Tag::new(0xDF8117);
/// `DF8118` CVM Capability - CVM Required (Book C-2).
pub const CVM_CAPABILITY_CVM_REQUIRED: Tag = Tag::new(0xDF8118);
/// `DF8119` CVM Capability - No CVM Required (Book C-2).
pub const CVM_CAPABILITY_NO_CVM_REQUIRED: Tag = Tag::new(0xDF8119);
/// `DF811B` Kernel Configuration (Book C-2).
pub const KERNEL_CONFIGURATION: Tag = Tag::new(0xDF811B);
/// `DF811C` Max Lifetime of Torn Transaction Log Record (Book C-2).
pub const MAX_LIFETIME_OF_TORN_TRANSACTION_LOG_RECORD: Tag = Tag::new(0xDF811C);
/// `DF811D` Max Number of Torn Transaction Log Records (Book C-2).
pub const MAX_NUMBER_OF_TORN_TRANSACTION_LOG_RECORDS: Tag = Tag::new(0xDF811D);
/// `DF811E` Mag-stripe CVM Capability - CVM Required (Book C-2).
pub const MAG_STRIPE_CVM_CAPABILITY_CVM_REQUIRED: Tag = Tag::new(0xDF811E);
/// `DF811F` Security Capability (Book C-2).
pub const SECURITY_CAPABILITY: Tag = Tag::new(0xDF811F);
/// `DF8120` Terminal Action Code - Default (Book C-2).
pub const TAC_DEFAULT: Tag = Tag::new(0xDF8120);
/// `DF8121` Terminal Action Code - Denial (Book C-2).
pub const TAC_DENIAL: Tag = Tag::new(0xDF8121);
/// `DF8122` Terminal Action Code - Online (Book C-2).
pub const TAC_ONLINE: Tag = Tag::new(0xDF8122);
/// `DF8123` Reader Contactless Floor Limit (Book C-2).
pub const READER_CONTACTLESS_FLOOR_LIMIT: Tag = Tag::new(0xDF8123);
/// `DF8124` Reader Contactless Transaction Limit (No On-device CVM) (Book C-2).
pub const READER_CONTACTLESS_TRANSACTION_LIMIT_NO_ODCVM: Tag = Tag::new(0xDF8124);
/// `DF8125` Reader Contactless Transaction Limit (On-device CVM) (Book C-2).
pub const READER_CONTACTLESS_TRANSACTION_LIMIT_ODCVM: Tag = Tag::new(0xDF8125);
/// `DF8126` Reader CVM Required Limit (Book C-2).
pub const READER_CVM_REQUIRED_LIMIT: Tag = Tag::new(0xDF8126);
/// `DF8127` Time Out Value (Book C-2).
pub const TIME_OUT_VALUE: Tag = Tag::new(0xDF8127);
/// `DF8129` Outcome Parameter Set (Book C-2).
pub const OUTCOME_PARAMETER_SET: Tag = Tag::new(0xDF8129);
/// `DF812C` Mag-stripe CVM Capability - No CVM Required (Book C-2).
pub const MAG_STRIPE_CVM_CAPABILITY_NO_CVM_REQUIRED: Tag = Tag::new(0xDF812C);
/// `DF812D` Message Hold Time (Book C-2).
pub const MESSAGE_HOLD_TIME: Tag = Tag::new(0xDF812D);
