"""Demo organisations and data practices for the three demo communities."""

from __future__ import annotations

from typing import Any

from sayso.core.models import Community

from .models import DataPractice, LegalBasis, Organisation

DEMO: dict[str, list[dict[str, Any]]] = {
    "warehouse": [
        {
            "name": "Northgate Logistics Ltd",
            "kind": Organisation.Kind.EMPLOYER,
            "website": "https://example.org/northgate-logistics",
            "data_protection_contact": "dpo@northgate-logistics.example",
            "is_published": True,
            "practices": [
                {
                    "title": "Handheld scanner productivity tracking",
                    "description": "Every scan is logged with a timestamp. Pick rates per hour are "
                    "ranked daily and used in performance reviews and disciplinaries.",
                    "stages": ["collection", "analysis", "sharing", "use"],
                    "data_categories": "scan events with timestamps\npick rate per hour\nlocation in the warehouse",
                    "subjects": "all pickers and packers",
                    "purposes": "productivity management\nperformance reviews",
                    "shared_with": "Optimetric Analytics (logistics analytics vendor)",
                    "retention": "not stated",
                    "legal_basis": LegalBasis.LEGITIMATE_INTERESTS,
                    "systems": "handheld barcode scanners\nOptimetric dashboard",
                },
                {
                    "title": "CCTV with automated 'idle time' alerts",
                    "description": "Cameras over the pick aisles feed software that flags anyone "
                    "standing still for more than 90 seconds to a shift manager.",
                    "stages": ["collection", "analysis", "use", "retention"],
                    "data_categories": "video of workers\nidle-time alerts",
                    "special_categories": ["biometric"],
                    "subjects": "everyone on the warehouse floor",
                    "purposes": "security\nproductivity",
                    "retention": "30 days (video); alerts kept indefinitely",
                    "legal_basis": LegalBasis.NOT_STATED,
                    "systems": "VisionGuard idle-detection",
                },
            ],
        },
        {
            "name": "Optimetric Analytics",
            "kind": Organisation.Kind.VENDOR,
            "practices": [],
        },
    ],
    "patients": [
        {
            "name": "Riverside GP Partnership",
            "kind": Organisation.Kind.HEALTH_BODY,
            "data_protection_contact": "dpo@riverside-gp.example",
            "foi_address": "foi@riverside-gp.example",
            "is_published": True,
            "practices": [
                {
                    "title": "GP records shared with a research platform",
                    "description": "Coded GP records are extracted monthly to a national research "
                    "platform run with a commercial partner. Patients were told by a leaflet.",
                    "stages": ["collection", "sharing", "reuse", "retention"],
                    "data_categories": "diagnoses and medications\nreferrals\ndate of birth and postcode",
                    "special_categories": ["health"],
                    "subjects": "all registered patients",
                    "purposes": "research\nplanning",
                    "shared_with": "Health Data Research Platform",
                    "retention": "20 years",
                    "legal_basis": LegalBasis.PUBLIC_TASK,
                    "systems": "practice clinical system extract",
                },
            ],
        },
    ],
    "tenants": [
        {
            "name": "Eastbank Homes",
            "kind": Organisation.Kind.LANDLORD,
            "website": "https://example.org/eastbank-homes",
            "practices": [
                {
                    "title": "Facial-recognition entry at the front door",
                    "description": "Residents must enrol their face to open the main door. "
                    "Visitors are photographed.",
                    "stages": ["design", "collection", "use", "retention"],
                    "data_categories": "face templates\nentry and exit times\nvisitor photos",
                    "special_categories": ["biometric"],
                    "subjects": "residents and their visitors",
                    "purposes": "building security",
                    "shared_with": "SecureDoor Ltd (vendor)\npolice on request",
                    "retention": "not stated",
                    "legal_basis": LegalBasis.CONSENT,
                    "systems": "SecureDoor FaceEntry",
                },
                {
                    "title": "Smart meters reporting every 30 minutes",
                    "description": "Energy use readings every half hour go to the landlord, who "
                    "says they detect empty flats and damp risk.",
                    "stages": ["collection", "analysis", "use"],
                    "data_categories": "half-hourly energy readings",
                    "subjects": "every flat",
                    "purposes": "detecting empty homes\ndamp and mould risk",
                    "retention": "not stated",
                    "legal_basis": LegalBasis.LEGITIMATE_INTERESTS,
                },
            ],
        },
    ],
}


def seed_demo(community: Community, key: str) -> None:
    for entry in DEMO.get(key, []):
        fields = {k: v for k, v in entry.items() if k != "practices"}
        organisation, _ = Organisation.objects.get_or_create(
            community=community, name=fields.pop("name"), defaults=fields
        )
        for practice in entry["practices"]:
            values = dict(practice)
            DataPractice.objects.get_or_create(
                community=community,
                organisation=organisation,
                title=values.pop("title"),
                defaults=values,
            )
