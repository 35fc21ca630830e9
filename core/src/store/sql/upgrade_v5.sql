-- v5: privacy-policy versions and data-subject requests.
SELECT 1;
