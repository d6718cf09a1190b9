"""ISO 20022 sese.023.001.11 (SecuritiesSettlementTransactionInstruction) of a settlement instruction.

The message we send the depository (or our settlement agent) for one instruction. Mapping:

* TxId: the instruction's id.
* SttlmTpAndAddtlParams: SctiesMvmntTp DELI (we deliver) or RECE (we receive); Pmt APMT (against
  payment) or FREE (free of payment).
* TradDtls: TradId (the gross trade's reference, or the obligation's), TradDt (the trade date, the
  earliest of a net obligation's trades), SttlmDt.
* FinInstrmId: the ISIN and the instrument's name.
* QtyAndAcctDtls: SttlmQty as Unit (shares, funds) or FaceAmt (bonds: the nominal); SfkpgAcct our
  account; SfkpgPlc the depository of the counterparty's standing settlement instruction (NCSD).
* SttlmParams: SctiesTxTp TRAD; PrtlSttlmInd PART or NPAR (whether the instruction may settle in part).
* The counterparty's side of the chain, from its SSI: RcvgSttlmPties when we deliver,
  DlvrgSttlmPties when we receive: Dpstry the place of settlement (BIC), Pty1 the counterparty's
  settlement agent (BIC) with its safekeeping account there, Pty2 the counterparty (name and LEI).
* SttlmAmt (against payment only): the cash amount in its currency, CRDT when we receive it, DBIT
  when we pay.

Some rules the schema cannot check are checked before building (sese023_problems): an SSI to
address, ISIN and BIC check digits and formats (python-stdnum), the LEI, the payment type agreeing
with the cash, a gross trade's amount equal to its quantity times its price and its direction to
its side, numbers within what the message's types hold. The schema itself, the official XSD, is
applied by sese023_validate when the file is there (ISO20022_SESE023_XSD, default
../shared/data/iso20022/sese.023.001.11.xsd next to the repository); it is never copied into the project.
"""

import os
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from django.conf import settings
from lxml import etree
from stdnum import bic as stdnum_bic
from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei

from records.reference.validators import currency_exponent, format_amount, iso4217_codes
from settlements.iso20022.selectors import ExportFacts

MESSAGE = "sese.023.001.11"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{MESSAGE}"
CONTENT_TYPE = "application/xml"
XSD_SETTING = "ISO20022_SESE023_XSD"
# Bonds settle in nominal (face amount); everything else in units.
FACE_AMOUNT_CLASSES = ("GOVT_BOND", "CORP_BOND")
# The message's decimal types: DecimalNumber (units) 18 digits, 17 decimals; ImpliedCurrencyAndAmount
# (face amount) and ActiveCurrencyAndAmount (cash) 18 digits, 5 decimals.
_UNIT_DIGITS, _UNIT_PLACES = 18, 17
_AMOUNT_DIGITS, _AMOUNT_PLACES = 18, 5
# A gross trade's cash is its quantity x price rounded once to the amount field's four places.
_CASH_PLACES = Decimal("0.0001")


def xsd_path() -> Path:
    """The official schema: the setting or environment variable ISO20022_SESE023_XSD, else the shared data
    folder next to the repository."""
    configured = getattr(settings, XSD_SETTING, None) or os.environ.get(XSD_SETTING)
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "iso20022" / f"{MESSAGE}.xsd"


@cache
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def sese023_validate(xml: bytes) -> list[str] | None:
    """Return the schema's complaints about a message (empty: valid), or None when the schema file is absent."""
    path = xsd_path()
    if not path.is_file():
        return None
    schema = _schema(str(path))
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def _digits(value: Decimal) -> tuple[int, int]:
    """(total digits, decimal places) of a decimal without trailing zeros, as XML Schema counts them."""
    _sign, digits, exponent = value.normalize().as_tuple()
    if exponent >= 0:
        return len(digits) + exponent, 0
    return max(len(digits), -exponent), -exponent


def _fits(value: Decimal, total: int, places: int) -> bool:
    have_total, have_places = _digits(abs(value))
    return have_total <= total and have_places <= places


def _bic_problem(value: str, label: str) -> str | None:
    if not value or not stdnum_bic.is_valid(value) or value != value.strip().upper() or len(value) not in (8, 11):
        return f"The {label} {value!r} is not a valid BIC (ISO 9362)."
    return None


def sese023_problems(facts: ExportFacts) -> list[str]:
    """Return why the instruction cannot be exported as a sese.023 (empty: it can)."""
    instruction = facts.instruction
    instrument = instruction.instrument
    problems = []
    if instruction.status == "CANCELLED":
        problems.append(f"Instruction {instruction.pk} is cancelled: there is nothing to instruct.")
    ssi = instruction.ssi
    if ssi is None:
        problems.append(f"Instruction {instruction.pk} has no standing settlement instruction: the counterparty "
                        f"{instruction.counterparty.code} has none for {instrument.market_id}.")
    else:
        for label, value in (("depository", ssi.depository_bic), ("place of settlement", ssi.place_of_settlement_bic),
                             ("counterparty's settlement agent", ssi.agent_bic)):
            problem = _bic_problem(value, label)
            if problem:
                problems.append(problem)
        if not ssi.safekeeping_account.strip() or len(ssi.safekeeping_account) > 35:
            problems.append("The counterparty's safekeeping account must be 1 to 35 characters.")
    if not stdnum_isin.is_valid(instrument.isin) or instrument.isin != instrument.isin.upper():
        problems.append(f"{instrument.isin!r} is not a valid ISIN (check digit).")
    if not stdnum_lei.is_valid(instruction.counterparty.lei):
        problems.append(f"The counterparty's LEI {instruction.counterparty.lei!r} is not valid (ISO 17442).")
    if instruction.currency not in iso4217_codes():
        problems.append(f"{instruction.currency!r} is not an ISO 4217 currency.")
    problems += _number_problems(facts)
    problems += _trade_problems(facts)
    return problems


def _number_problems(facts: ExportFacts) -> list[str]:
    instruction = facts.instruction
    problems = []
    if instruction.quantity <= 0:
        problems.append("The quantity to settle must be more than zero.")
    elif instruction.instrument.asset_class in FACE_AMOUNT_CLASSES:
        if not _fits(instruction.quantity, _AMOUNT_DIGITS, _AMOUNT_PLACES):
            problems.append(f"The nominal {instruction.quantity} does not fit a face amount (18 digits, 5 decimals).")
    elif not _fits(instruction.quantity, _UNIT_DIGITS, _UNIT_PLACES):
        problems.append(f"The quantity {instruction.quantity} does not fit 18 digits.")
    if instruction.payment == "APMT":
        if instruction.cash_amount == 0:
            problems.append("A settlement against payment needs a cash amount; this one is zero.")
        elif not _fits(instruction.cash_amount, _AMOUNT_DIGITS, _AMOUNT_PLACES):
            problems.append(f"The cash amount {instruction.cash_amount} does not fit 18 digits and 5 decimals.")
        elif instruction.currency in iso4217_codes() and _digits(instruction.cash_amount)[1] > currency_exponent(
                instruction.currency):
            problems.append(f"The cash amount {instruction.cash_amount} has more decimals than "
                            f"{instruction.currency} has minor units.")
    elif instruction.cash_amount != 0:
        problems.append(f"A free-of-payment instruction moves no cash; this one says {instruction.cash_amount}.")
    if facts.trade_date is not None and facts.trade_date > instruction.settlement_date:
        problems.append(f"The settlement date {instruction.settlement_date} is before the trade date "
                        f"{facts.trade_date}.")
    return problems


def _trade_problems(facts: ExportFacts) -> list[str]:
    """A gross trade's instruction must say what the trade says: quantity, direction, amount = quantity x price."""
    trade, instruction = facts.trade, facts.instruction
    if trade is None:
        return []
    problems = []
    if trade.quantity != instruction.quantity:
        problems.append(f"The instruction settles {instruction.quantity} but trade {trade.pk} is for {trade.quantity}.")
    expected_direction = "DELIVER" if trade.side == "SELL" else "RECEIVE"
    if instruction.direction != expected_direction:
        problems.append(f"Trade {trade.pk} is a {trade.side.lower()}: the instruction should "
                        f"{expected_direction.lower()}, not {instruction.direction.lower()}.")
    if instruction.payment == "APMT":
        value = (trade.quantity * trade.price).quantize(_CASH_PLACES, ROUND_HALF_UP)
        expected = value if trade.side == "SELL" else -value
        if instruction.cash_amount != expected:
            problems.append(f"The amount {instruction.cash_amount} {instruction.currency} is not the trade's quantity "
                            f"x price: {trade.quantity} x {trade.price} = {expected}.")
        if instruction.currency != trade.currency:
            problems.append(f"The instruction is in {instruction.currency}, trade {trade.pk} in {trade.currency}.")
    return problems


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _sub(parent, name: str, text: str | None = None):
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}")
    if text is not None:
        element.text = text
    return element


def _path(parent, *names: str, text: str | None = None):
    """Append nested elements names[0]/names[1]/... under parent; the last one holds the text."""
    for name in names[:-1]:
        parent = _sub(parent, name)
    return _sub(parent, names[-1], text)


def sese023_build(facts: ExportFacts) -> bytes:
    """Return the sese.023.001.11 document of the instruction (UTF-8 XML). Check sese023_problems first."""
    instruction = facts.instruction
    instrument = instruction.instrument
    ssi = instruction.ssi
    delivering = instruction.direction == "DELIVER"
    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    message = _sub(document, "SctiesSttlmTxInstr")
    _sub(message, "TxId", str(instruction.pk))

    params = _sub(message, "SttlmTpAndAddtlParams")
    _sub(params, "SctiesMvmntTp", "DELI" if delivering else "RECE")
    _sub(params, "Pmt", instruction.payment)

    trade_details = _sub(message, "TradDtls")
    if facts.trade is not None:
        reference = facts.trade.external_ref if 0 < len(facts.trade.external_ref) <= 52 else f"T{facts.trade.pk}"
        _sub(trade_details, "TradId", reference)
    elif instruction.obligation_id is not None:
        _sub(trade_details, "TradId", f"OBL{instruction.obligation_id}")
    if facts.trade_date is not None:
        _path(trade_details, "TradDt", "Dt", "Dt", text=facts.trade_date.isoformat())
    _path(trade_details, "SttlmDt", "Dt", "Dt", text=instruction.settlement_date.isoformat())

    security = _sub(message, "FinInstrmId")
    _sub(security, "ISIN", instrument.isin)
    if instrument.name.strip():
        _sub(security, "Desc", instrument.name.strip()[:140])

    quantity = _sub(message, "QtyAndAcctDtls")
    if instrument.asset_class in FACE_AMOUNT_CLASSES:
        _path(quantity, "SttlmQty", "Qty", "FaceAmt", text=_plain(instruction.quantity))
    else:
        _path(quantity, "SttlmQty", "Qty", "Unit", text=_plain(instruction.quantity))
    account = _sub(quantity, "SfkpgAcct")
    _sub(account, "Id", instruction.account.code[:35])
    if instruction.account.name.strip():
        _sub(account, "Nm", instruction.account.name.strip()[:70])
    if ssi is not None:
        place = _path(quantity, "SfkpgPlc", "SfkpgPlcFrmt", "TpAndId")
        _sub(place, "SfkpgPlcTp", "NCSD")
        _sub(place, "Id", ssi.depository_bic)

    settlement = _sub(message, "SttlmParams")
    _path(settlement, "SctiesTxTp", "Cd", text="TRAD")
    _sub(settlement, "PrtlSttlmInd", "PART" if instruction.allow_partial else "NPAR")

    if ssi is not None:
        parties = _sub(message, "RcvgSttlmPties" if delivering else "DlvrgSttlmPties")
        _path(parties, "Dpstry", "Id", "AnyBIC", text=ssi.place_of_settlement_bic)
        agent = _sub(parties, "Pty1")
        _path(agent, "Id", "AnyBIC", text=ssi.agent_bic)
        _path(agent, "SfkpgAcct", "Id", text=ssi.safekeeping_account)
        counterparty = _sub(parties, "Pty2")
        _path(counterparty, "Id", "NmAndAdr", "Nm", text=instruction.counterparty.name.strip()[:350]
              or instruction.counterparty.code)
        _sub(counterparty, "LEI", instruction.counterparty.lei)

    if instruction.payment == "APMT":
        amount = _sub(message, "SttlmAmt")
        _sub(amount, "Amt", format_amount(abs(instruction.cash_amount), instruction.currency)).set(
            "Ccy", instruction.currency)
        _sub(amount, "CdtDbtInd", "CRDT" if instruction.cash_amount > 0 else "DBIT")

    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def sese023_export(facts: ExportFacts) -> tuple[bytes | None, list[str]]:
    """Return (the message, []) or (None, why not): the business rules first, then the official schema when
    its file is there, so that no message that breaks either leaves."""
    problems = sese023_problems(facts)
    if problems:
        return None, problems
    xml = sese023_build(facts)
    invalid = sese023_validate(xml)
    if invalid:
        return None, [f"Not valid against {MESSAGE}.xsd: {message}" for message in invalid]
    return xml, []


def sese023_filename(instruction_id: int) -> str:
    return f"sese023-instruction-{instruction_id}.xml"
