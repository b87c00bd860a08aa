-- Moves a projection's checkpoint on from the sequence its projector last wrote, inside the batch's
-- transaction. Any other stored value means someone else moved it (a rebuild swapped this schema in,
-- a second projector, a rewind): the error rolls the whole batch back and the projector restarts from
-- what is stored. One call, so a batch's check, checkpoint and COMMIT go to the server in one message.
CREATE OR REPLACE FUNCTION advance_checkpoint(p_name text, p_expected bigint, p_seq bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE projection_checkpoints SET seq = p_seq, updated_at = now() WHERE name = p_name AND seq = p_expected;
    IF FOUND THEN
        RETURN;
    END IF;
    IF p_expected = 0 THEN
        INSERT INTO projection_checkpoints (name, seq) VALUES (p_name, p_seq) ON CONFLICT (name) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    RAISE EXCEPTION 'checkpoint % is not at %', p_name, p_expected USING ERRCODE = 'HP409';
END $$;
