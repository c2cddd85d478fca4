-- 003_fhir_store.sql: the built-in FHIR store (FHIR_BACKEND = builtin).
--
-- smart.fhir_resources holds the current version of every resource, one row
-- per (resource_type, id); a deleted resource keeps its row with deleted =
-- true so its version history continues if it comes back.  Every version
-- (deletions included, with a NULL resource) is also in smart.fhir_history.
-- Write through smart.put / smart.delete or smart.fhir_put /
-- smart.fhir_delete (004), which keep meta.versionId and meta.lastUpdated,
-- the columns and the history in step.
--
-- smart.search_params describes the search parameters the gateway
-- understands, as data: add a row to teach it a new one.

CREATE TABLE smart.fhir_resources (
	resource_type text NOT NULL,
	id            text NOT NULL,
	version_id    bigint NOT NULL,
	last_updated  timestamptz NOT NULL,
	deleted       boolean NOT NULL DEFAULT false,
	resource      jsonb NOT NULL,
	-- The patient a resource is about, for compartment checks: the id
	-- itself for a Patient, else a "Patient/<id>" subject, patient or
	-- beneficiary reference.  NULL when there is none.
	patient_id    text GENERATED ALWAYS AS (
		CASE WHEN resource_type = 'Patient' THEN id
		ELSE substring(coalesce(resource #>> '{subject,reference}',
			resource #>> '{patient,reference}',
			resource #>> '{beneficiary,reference}')
			FROM '^Patient/([A-Za-z0-9.-]{1,64})$')
		END) STORED,
	PRIMARY KEY (resource_type, id)
);
CREATE INDEX fhir_resources_patient_idx ON smart.fhir_resources (patient_id, resource_type)
	WHERE NOT deleted;
CREATE INDEX fhir_resources_updated_idx ON smart.fhir_resources (resource_type, last_updated);
-- Containment (@>) and jsonpath (@?, @@) searches on any element.
CREATE INDEX fhir_resources_gin_idx ON smart.fhir_resources USING gin (resource jsonb_path_ops);

CREATE TABLE smart.fhir_history (
	resource_type text NOT NULL,
	id            text NOT NULL,
	version_id    bigint NOT NULL,
	last_updated  timestamptz NOT NULL,
	deleted       boolean NOT NULL DEFAULT false,
	resource      jsonb,            -- NULL for a deletion
	PRIMARY KEY (resource_type, id, version_id),
	CHECK (deleted = (resource IS NULL))
);
CREATE INDEX fhir_history_updated_idx ON smart.fhir_history (resource_type, last_updated);
CREATE INDEX fhir_history_all_updated_idx ON smart.fhir_history (last_updated);

-- Search parameters.  resource_type 'Resource' applies to every type.
-- expression is the FHIRPath of the R4 definition, for people; paths are
-- what the gateway evaluates (jsonb_path_query on the resource, results
-- unioned).  A token path leads to a code, Coding, CodeableConcept or
-- Identifier; a reference path to a Reference (or its .reference string);
-- a date path to a date, dateTime, instant or Period; a string path to
-- strings.  target restricts reference parameters to one resource type.
CREATE TABLE smart.search_params (
	resource_type text NOT NULL,
	name          text NOT NULL,
	type          text NOT NULL CHECK (type IN ('token', 'reference', 'string', 'date',
	                                          'number', 'quantity', 'uri')),
	expression    text NOT NULL,
	paths         jsonpath[] NOT NULL CHECK (cardinality(paths) > 0),
	target        text,
	PRIMARY KEY (resource_type, name)
);

INSERT INTO smart.search_params (resource_type, name, type, expression, paths, target) VALUES
	('Resource', '_id', 'token', 'Resource.id', '{"$.id"}', NULL),
	('Resource', '_lastUpdated', 'date', 'Resource.meta.lastUpdated', '{"$.meta.lastUpdated"}', NULL),

	-- patient: the Patient the resource is about
	('AllergyIntolerance', 'patient', 'reference', 'AllergyIntolerance.patient', '{"$.patient"}', 'Patient'),
	('CarePlan', 'patient', 'reference', 'CarePlan.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('CareTeam', 'patient', 'reference', 'CareTeam.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Condition', 'patient', 'reference', 'Condition.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Coverage', 'patient', 'reference', 'Coverage.beneficiary', '{"$.beneficiary"}', 'Patient'),
	('Device', 'patient', 'reference', 'Device.patient', '{"$.patient"}', 'Patient'),
	('DiagnosticReport', 'patient', 'reference', 'DiagnosticReport.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('DocumentReference', 'patient', 'reference', 'DocumentReference.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Encounter', 'patient', 'reference', 'Encounter.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Goal', 'patient', 'reference', 'Goal.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Immunization', 'patient', 'reference', 'Immunization.patient', '{"$.patient"}', 'Patient'),
	('MedicationRequest', 'patient', 'reference', 'MedicationRequest.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('MedicationStatement', 'patient', 'reference', 'MedicationStatement.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Observation', 'patient', 'reference', 'Observation.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('Procedure', 'patient', 'reference', 'Procedure.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),
	('ServiceRequest', 'patient', 'reference', 'ServiceRequest.subject.where(resolve() is Patient)', '{"$.subject"}', 'Patient'),

	-- subject
	('CarePlan', 'subject', 'reference', 'CarePlan.subject', '{"$.subject"}', NULL),
	('Condition', 'subject', 'reference', 'Condition.subject', '{"$.subject"}', NULL),
	('DiagnosticReport', 'subject', 'reference', 'DiagnosticReport.subject', '{"$.subject"}', NULL),
	('DocumentReference', 'subject', 'reference', 'DocumentReference.subject', '{"$.subject"}', NULL),
	('Encounter', 'subject', 'reference', 'Encounter.subject', '{"$.subject"}', NULL),
	('MedicationRequest', 'subject', 'reference', 'MedicationRequest.subject', '{"$.subject"}', NULL),
	('Observation', 'subject', 'reference', 'Observation.subject', '{"$.subject"}', NULL),
	('Procedure', 'subject', 'reference', 'Procedure.subject', '{"$.subject"}', NULL),
	('ServiceRequest', 'subject', 'reference', 'ServiceRequest.subject', '{"$.subject"}', NULL),

	-- encounter
	('Condition', 'encounter', 'reference', 'Condition.encounter', '{"$.encounter"}', 'Encounter'),
	('DiagnosticReport', 'encounter', 'reference', 'DiagnosticReport.encounter', '{"$.encounter"}', 'Encounter'),
	('DocumentReference', 'encounter', 'reference', 'DocumentReference.context.encounter', '{"$.context.encounter[*]"}', 'Encounter'),
	('MedicationRequest', 'encounter', 'reference', 'MedicationRequest.encounter', '{"$.encounter"}', 'Encounter'),
	('Observation', 'encounter', 'reference', 'Observation.encounter', '{"$.encounter"}', 'Encounter'),
	('Procedure', 'encounter', 'reference', 'Procedure.encounter', '{"$.encounter"}', 'Encounter'),
	('ServiceRequest', 'encounter', 'reference', 'ServiceRequest.encounter', '{"$.encounter"}', 'Encounter'),

	-- code
	('AllergyIntolerance', 'code', 'token', 'AllergyIntolerance.code | AllergyIntolerance.reaction.substance', '{"$.code", "$.reaction[*].substance"}', NULL),
	('Condition', 'code', 'token', 'Condition.code', '{"$.code"}', NULL),
	('DiagnosticReport', 'code', 'token', 'DiagnosticReport.code', '{"$.code"}', NULL),
	('MedicationRequest', 'code', 'token', 'MedicationRequest.medication.as(CodeableConcept)', '{"$.medicationCodeableConcept"}', NULL),
	('Observation', 'code', 'token', 'Observation.code', '{"$.code"}', NULL),
	('Procedure', 'code', 'token', 'Procedure.code', '{"$.code"}', NULL),
	('ServiceRequest', 'code', 'token', 'ServiceRequest.code', '{"$.code"}', NULL),
	('Immunization', 'vaccine-code', 'token', 'Immunization.vaccineCode', '{"$.vaccineCode"}', NULL),

	-- category
	('AllergyIntolerance', 'category', 'token', 'AllergyIntolerance.category', '{"$.category[*]"}', NULL),
	('CarePlan', 'category', 'token', 'CarePlan.category', '{"$.category[*]"}', NULL),
	('Condition', 'category', 'token', 'Condition.category', '{"$.category[*]"}', NULL),
	('DiagnosticReport', 'category', 'token', 'DiagnosticReport.category', '{"$.category[*]"}', NULL),
	('DocumentReference', 'category', 'token', 'DocumentReference.category', '{"$.category[*]"}', NULL),
	('MedicationRequest', 'category', 'token', 'MedicationRequest.category', '{"$.category[*]"}', NULL),
	('Observation', 'category', 'token', 'Observation.category', '{"$.category[*]"}', NULL),
	('ServiceRequest', 'category', 'token', 'ServiceRequest.category', '{"$.category[*]"}', NULL),

	-- status
	('CarePlan', 'status', 'token', 'CarePlan.status', '{"$.status"}', NULL),
	('DiagnosticReport', 'status', 'token', 'DiagnosticReport.status', '{"$.status"}', NULL),
	('DocumentReference', 'status', 'token', 'DocumentReference.status', '{"$.status"}', NULL),
	('Encounter', 'status', 'token', 'Encounter.status', '{"$.status"}', NULL),
	('Immunization', 'status', 'token', 'Immunization.status', '{"$.status"}', NULL),
	('MedicationRequest', 'status', 'token', 'MedicationRequest.status', '{"$.status"}', NULL),
	('Observation', 'status', 'token', 'Observation.status', '{"$.status"}', NULL),
	('Procedure', 'status', 'token', 'Procedure.status', '{"$.status"}', NULL),
	('ServiceRequest', 'status', 'token', 'ServiceRequest.status', '{"$.status"}', NULL),
	('AllergyIntolerance', 'clinical-status', 'token', 'AllergyIntolerance.clinicalStatus', '{"$.clinicalStatus"}', NULL),
	('Condition', 'clinical-status', 'token', 'Condition.clinicalStatus', '{"$.clinicalStatus"}', NULL),

	-- identifier
	('AllergyIntolerance', 'identifier', 'token', 'AllergyIntolerance.identifier', '{"$.identifier[*]"}', NULL),
	('Condition', 'identifier', 'token', 'Condition.identifier', '{"$.identifier[*]"}', NULL),
	('DiagnosticReport', 'identifier', 'token', 'DiagnosticReport.identifier', '{"$.identifier[*]"}', NULL),
	('DocumentReference', 'identifier', 'token', 'DocumentReference.masterIdentifier | DocumentReference.identifier', '{"$.masterIdentifier", "$.identifier[*]"}', NULL),
	('Encounter', 'identifier', 'token', 'Encounter.identifier', '{"$.identifier[*]"}', NULL),
	('Immunization', 'identifier', 'token', 'Immunization.identifier', '{"$.identifier[*]"}', NULL),
	('MedicationRequest', 'identifier', 'token', 'MedicationRequest.identifier', '{"$.identifier[*]"}', NULL),
	('Observation', 'identifier', 'token', 'Observation.identifier', '{"$.identifier[*]"}', NULL),
	('Organization', 'identifier', 'token', 'Organization.identifier', '{"$.identifier[*]"}', NULL),
	('Patient', 'identifier', 'token', 'Patient.identifier', '{"$.identifier[*]"}', NULL),
	('Practitioner', 'identifier', 'token', 'Practitioner.identifier', '{"$.identifier[*]"}', NULL),
	('Procedure', 'identifier', 'token', 'Procedure.identifier', '{"$.identifier[*]"}', NULL),

	-- demographics
	('Patient', 'gender', 'token', 'Patient.gender', '{"$.gender"}', NULL),
	('Practitioner', 'gender', 'token', 'Practitioner.gender', '{"$.gender"}', NULL),
	('Patient', 'birthdate', 'date', 'Patient.birthDate', '{"$.birthDate"}', NULL),
	('Patient', 'name', 'string', 'Patient.name',
		'{"$.name[*].text", "$.name[*].family", "$.name[*].given[*]", "$.name[*].prefix[*]", "$.name[*].suffix[*]"}', NULL),
	('Practitioner', 'name', 'string', 'Practitioner.name',
		'{"$.name[*].text", "$.name[*].family", "$.name[*].given[*]", "$.name[*].prefix[*]", "$.name[*].suffix[*]"}', NULL),
	('Organization', 'name', 'string', 'Organization.name | Organization.alias', '{"$.name", "$.alias[*]"}', NULL),
	('Patient', 'family', 'string', 'Patient.name.family', '{"$.name[*].family"}', NULL),
	('Practitioner', 'family', 'string', 'Practitioner.name.family', '{"$.name[*].family"}', NULL),
	('Patient', 'given', 'string', 'Patient.name.given', '{"$.name[*].given[*]"}', NULL),
	('Practitioner', 'given', 'string', 'Practitioner.name.given', '{"$.name[*].given[*]"}', NULL),

	-- date
	('AllergyIntolerance', 'date', 'date', 'AllergyIntolerance.recordedDate', '{"$.recordedDate"}', NULL),
	('CarePlan', 'date', 'date', 'CarePlan.period', '{"$.period"}', NULL),
	('DiagnosticReport', 'date', 'date', 'DiagnosticReport.effective', '{"$.effectiveDateTime", "$.effectivePeriod"}', NULL),
	('DocumentReference', 'date', 'date', 'DocumentReference.date', '{"$.date"}', NULL),
	('Encounter', 'date', 'date', 'Encounter.period', '{"$.period"}', NULL),
	('Immunization', 'date', 'date', 'Immunization.occurrence', '{"$.occurrenceDateTime"}', NULL),
	('Observation', 'date', 'date', 'Observation.effective',
		'{"$.effectiveDateTime", "$.effectivePeriod", "$.effectiveInstant"}', NULL),
	('Procedure', 'date', 'date', 'Procedure.performed', '{"$.performedDateTime", "$.performedPeriod"}', NULL),
	('Condition', 'onset-date', 'date', 'Condition.onset.as(dateTime) | Condition.onset.as(Period)',
		'{"$.onsetDateTime", "$.onsetPeriod"}', NULL),
	('Condition', 'recorded-date', 'date', 'Condition.recordedDate', '{"$.recordedDate"}', NULL),
	('MedicationRequest', 'authoredon', 'date', 'MedicationRequest.authoredOn', '{"$.authoredOn"}', NULL);
