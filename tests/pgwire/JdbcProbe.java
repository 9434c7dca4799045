import java.sql.*;

/** What DBeaver, Metabase and Tableau do through pgJDBC: metadata, a prepared statement run
 *  six times (pgJDBC switches to a named server-side statement and binary on the fifth),
 *  and a cursor-based read with setFetchSize. Prints "key value" lines for the test. */
public class JdbcProbe {
  public static void main(String[] args) throws Exception {
    String database = args.length > 4 ? args[4] : "concord";
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/" + database + "?sslmode=disable";
    try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
      DatabaseMetaData md = c.getMetaData();
      System.out.println("product " + md.getDatabaseProductName());
      try (ResultSet rs = md.getSchemas()) {
        while (rs.next()) System.out.println("schema " + rs.getString("TABLE_SCHEM"));
      }
      try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"VIEW"})) {
        while (rs.next()) System.out.println("view " + rs.getString("TABLE_NAME"));
      }
      try (ResultSet rs = md.getTables(null, "salesforce", "%", new String[] {"TABLE"})) {
        while (rs.next()) System.out.println("table " + rs.getString("TABLE_NAME"));
      }
      try (ResultSet rs = md.getColumns(null, "public", args[3], "%")) {
        while (rs.next()) System.out.println("column " + rs.getString("COLUMN_NAME") + " "
            + rs.getString("TYPE_NAME") + " " + rs.getInt("DATA_TYPE"));
      }
      String sql = "SELECT count(*) FROM salesforce.\"Opportunity\" WHERE \"Amount\" > ?";
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < 6; i++) {
          ps.setDouble(1, i * 10000.0);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            System.out.println("count " + rs.getLong(1));
          }
        }
      }
      c.setAutoCommit(false);  // pgJDBC only fetches in batches inside a transaction
      try (Statement st = c.createStatement()) {
        st.setFetchSize(50);
        try (ResultSet rs = st.executeQuery("SELECT \"Id\" FROM salesforce.\"Opportunity\"")) {
          int n = 0;
          while (rs.next()) n++;
          System.out.println("fetched " + n);
        }
      }
    }
  }
}
