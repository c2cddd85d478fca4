/*
 * gateway_path: FHIR URL routing.  See gateway_path.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fhirsearch.h"
#include "form.h"
#include "gateway_path.h"

/* FHIR R4 (4.0.1) resource types, sorted for bsearch. */
static const char *const gw_r4_types[] = {
	"Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment",
	"AppointmentResponse", "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct",
	"BodyStructure", "Bundle", "CapabilityStatement", "CarePlan", "CareTeam", "CatalogEntry",
	"ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse", "ClinicalImpression",
	"CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition",
	"Composition", "ConceptMap", "Condition", "Consent", "Contract", "Coverage",
	"CoverageEligibilityRequest", "CoverageEligibilityResponse", "DetectedIssue", "Device",
	"DeviceDefinition", "DeviceMetric", "DeviceRequest", "DeviceUseStatement",
	"DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
	"Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare",
	"EventDefinition", "Evidence", "EvidenceVariable", "ExampleScenario",
	"ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal", "GraphDefinition", "Group",
	"GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
	"ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide",
	"InsurancePlan", "Invoice", "Library", "Linkage", "List", "Location", "Measure",
	"MeasureReport", "Media", "Medication", "MedicationAdministration", "MedicationDispense",
	"MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
	"MedicinalProductAuthorization", "MedicinalProductContraindication",
	"MedicinalProductIndication", "MedicinalProductIngredient", "MedicinalProductInteraction",
	"MedicinalProductManufactured", "MedicinalProductPackaged",
	"MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect",
	"MessageDefinition", "MessageHeader", "MolecularSequence", "NamingSystem",
	"NutritionOrder", "Observation", "ObservationDefinition", "OperationDefinition",
	"OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
	"PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner",
	"PractitionerRole", "Procedure", "Provenance", "Questionnaire", "QuestionnaireResponse",
	"RelatedPerson", "RequestGroup", "ResearchDefinition", "ResearchElementDefinition",
	"ResearchStudy", "ResearchSubject", "RiskAssessment", "RiskEvidenceSynthesis", "Schedule",
	"SearchParameter", "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition",
	"StructureDefinition", "StructureMap", "Subscription", "Substance",
	"SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
	"SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification",
	"SupplyDelivery", "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport",
	"TestScript", "ValueSet", "VerificationResult", "VisionPrescription"
};

static int
gw_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, *(const char *const *)b);
}

int
gw_known_type(const char *type)
{
	return fs_valid_type(type) && bsearch(type, gw_r4_types,
	    sizeof(gw_r4_types) / sizeof(gw_r4_types[0]), sizeof(gw_r4_types[0]), gw_cmp) != NULL;
}

#define GW_MAX_SEGS	4

int
gw_route_parse_rel(const char *rest, int relative, struct gw_route *rt, const char **why)
{
	char *seg[GW_MAX_SEGS];
	const char *p = rest, *slash;
	enum form_error fe;
	size_t nseg = 0, i;
	int status = 0;

	memset(rt, 0, sizeof(*rt));
	if (!relative) {
		if (*p == '\0' || strcmp(p, "/") == 0) {
			rt->kind = GW_R_BASE;
			return 0;
		}
		if (*p != '/') {
			*why = "no such endpoint";
			return 404;
		}
		p++;
	} else if (*p == '\0') {
		*why = "empty URL";
		return 400;
	}
	/* Split and decode each segment once. */
	for (;;) {
		slash = strchr(p, '/');
		if (nseg == GW_MAX_SEGS) {
			*why = "no such endpoint";
			status = 404;
			goto out;
		}
		if ((slash != NULL ? (size_t)(slash - p) : strlen(p)) == 0) {
			*why = "empty path segment";
			status = 400;
			goto out;
		}
		seg[nseg] = form_decode(p, slash != NULL ? (size_t)(slash - p) : strlen(p), 0, &fe);
		if (seg[nseg] == NULL) {
			*why = fe == FORM_ENOMEM ? "out of memory" : "malformed percent-encoding in the path";
			status = fe == FORM_ENOMEM ? 500 : 400;
			goto out;
		}
		nseg++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	for (i = 0; i < nseg; i++)
		if (strcmp(seg[i], ".") == 0 || strcmp(seg[i], "..") == 0 ||
		    strchr(seg[i], '/') != NULL) {
			*why = "dot segments and encoded slashes are not allowed in FHIR paths";
			status = 400;
			goto out;
		}

	if (nseg == 1 && strcmp(seg[0], "metadata") == 0) {
		rt->kind = GW_R_METADATA;
		goto out;
	}
	if (!fs_valid_type(seg[0])) {
		*why = seg[0][0] == '$' ? "operations are not supported" : "no such endpoint";
		status = seg[0][0] == '$' ? 400 : 404;
		goto out;
	}
	if (!gw_known_type(seg[0])) {
		*why = "unknown resource type";
		status = 404;
		goto out;
	}
	strcpy(rt->type, seg[0]);	/* fs_valid_type: at most 64 bytes */
	if (nseg == 1) {
		rt->kind = GW_R_TYPE;
		goto out;
	}
	if (seg[1][0] == '_' || seg[1][0] == '$') {
		if (nseg == 2 && strcmp(seg[1], "_search") == 0)
			rt->kind = GW_R_TYPE_SEARCH;
		else if (nseg == 2 && strcmp(seg[1], "_history") == 0)
			rt->kind = GW_R_TYPE_HISTORY;
		else {
			*why = "operations are not supported";
			status = 400;
		}
		goto out;
	}
	if (!fs_valid_id(seg[1])) {
		*why = "malformed resource id (1 to 64 of A-Z a-z 0-9 - .)";
		status = 400;
		goto out;
	}
	strcpy(rt->id, seg[1]);
	if (nseg == 2) {
		rt->kind = GW_R_INSTANCE;
		goto out;
	}
	if (strcmp(seg[2], "_history") != 0) {
		*why = seg[2][0] == '$' ? "operations are not supported" : "no such endpoint";
		status = seg[2][0] == '$' ? 400 : 404;
		goto out;
	}
	if (nseg == 3) {
		rt->kind = GW_R_HISTORY;
		goto out;
	}
	{
		const char *v = seg[3];
		size_t n = strlen(v), k;

		for (k = 0; k < n; k++)
			if (!isdigit((unsigned char)v[k]))
				break;
		if (n == 0 || n > 18 || k != n || v[0] == '0') {
			*why = "malformed version id";
			status = 400;
			goto out;
		}
		rt->vid = strtoll(v, NULL, 10);
		rt->kind = GW_R_VREAD;
	}
out:
	for (i = 0; i < nseg; i++)
		free(seg[i]);
	if (status != 0)
		memset(rt, 0, sizeof(*rt));
	return status;
}

int
gw_route_parse(const char *path, const char *mount, struct gw_route *rt, const char **why)
{
	size_t n = strlen(mount);

	memset(rt, 0, sizeof(*rt));
	if (strncmp(path, mount, n) != 0 || (path[n] != '\0' && path[n] != '/')) {
		*why = "no such endpoint";
		return 404;
	}
	return gw_route_parse_rel(path + n, 0, rt, why);
}
