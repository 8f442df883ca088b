package dev.spillway.eviction;

/** The contract of {@link PrefixAwarePolicy} over S3-FIFO, whose scans re-queue rejected keys. */
class PrefixAwareS3FifoPolicyTest extends EvictionPolicyContractTest {

    @Override
    protected EvictionPolicy newPolicy() {
        return new PrefixAwarePolicy(new S3FifoPolicy(20));
    }

    @Override
    protected String expectedName() {
        return "s3fifo+prefix";
    }

    @Override
    protected boolean keepsParents() {
        return true;
    }
}
