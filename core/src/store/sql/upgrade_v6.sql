-- v6: device-to-supervisor sync.
SELECT 1;
